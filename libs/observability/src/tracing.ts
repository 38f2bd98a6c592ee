import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { enableSpans } from '#messaging';

let provider: NodeTracerProvider | undefined;

/**
 * OpenTelemetry traces, off by default. `OTEL_TRACES_EXPORTER=otlp` sends them over OTLP/HTTP (the
 * standard `OTEL_EXPORTER_OTLP_*` variables say where), `console` prints them. Without a provider the
 * `traceparent` still travels with every job; only no spans are recorded.
 */
export function startTracing(service: string, exporter: SpanExporter | undefined = exporterFromEnv()): void {
  if (!exporter || provider) return;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  provider.register();
  enableSpans();
}

/** Flushes what is buffered; call before the process exits. */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown().catch(() => undefined);
  provider = undefined;
}

function exporterFromEnv(): SpanExporter | undefined {
  switch (process.env.OTEL_TRACES_EXPORTER ?? 'none') {
    case 'otlp':
      return new OTLPTraceExporter();
    case 'console':
      return new ConsoleSpanExporter();
    default:
      return undefined;
  }
}

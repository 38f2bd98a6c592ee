import type { NodeTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { enableSpans } from '#messaging';

let provider: NodeTracerProvider | undefined;

/**
 * OpenTelemetry traces, off by default. `OTEL_TRACES_EXPORTER=otlp` sends them over OTLP/HTTP (the
 * standard `OTEL_EXPORTER_OTLP_*` variables say where), `console` prints them. Without a provider the
 * `traceparent` still travels with every job; only no spans are recorded.
 *
 * The SDK is imported only when tracing is on: loading it costs every process about 19 MiB of memory.
 */
export async function startTracing(service: string, exporter?: SpanExporter): Promise<void> {
  if (provider) return;
  const chosen = exporter ?? (await exporterFromEnv());
  if (!chosen) return;
  const { BatchSpanProcessor, NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(chosen, { scheduledDelayMillis: 500 })],
  });
  provider.register();
  enableSpans();
}

/** Flushes what is buffered; call before the process exits. */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown().catch(() => undefined);
  provider = undefined;
}

async function exporterFromEnv(): Promise<SpanExporter | undefined> {
  switch (process.env.OTEL_TRACES_EXPORTER ?? 'none') {
    case 'otlp':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'console':
      return new (await import('@opentelemetry/sdk-trace-node')).ConsoleSpanExporter();
    default:
      return undefined;
  }
}

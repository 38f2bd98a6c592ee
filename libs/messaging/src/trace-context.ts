import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The caller's W3C `traceparent` if it is well-formed (and not the all-zero ids), else a new one. */
export function traceparentFrom(header: unknown): string {
  if (typeof header === 'string') {
    const match = TRACEPARENT.exec(header.trim());
    if (match && !/^0+$/.test(match[1] ?? '0') && !/^0+$/.test(match[2] ?? '0')) return header.trim();
  }
  const ids = randomIds();
  return `00-${ids.slice(0, 32)}-${ids.slice(32)}-01`;
}

// A fresh trace per request: 24 random bytes each. Taken from a pool refilled 4 KiB at a time, since a
// randomBytes call per request cost more than the rest of the trace handling together.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_BYTES;

function randomIds(): string {
  if (offset + 24 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + 24);
  offset += 24;
  return hex;
}

/** The trace id part of a `traceparent`, for log lines. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}

/** The tracer every Conveyor span comes from; a no-op until a tracer provider is registered (OTEL_TRACES_EXPORTER). */
export const tracer = trace.getTracer('conveyor');

let spansEnabled = false;

/**
 * Called once a tracer provider is registered. Until then no span objects are made at all (measured: the
 * no-op spans cost ~10% of throughput on the hot path); the `traceparent` still travels unchanged.
 */
export function enableSpans(): void {
  spansEnabled = true;
}

export function spansAreEnabled(): boolean {
  return spansEnabled;
}

/** A context whose parent is the span a `traceparent` names (the root context when there is none). */
export function contextFrom(traceparent: string | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match?.[1] || !match[2] || !match[3]) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1],
    spanId: match[2],
    traceFlags: Number.parseInt(match[3], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** The `traceparent` to hand on from inside `span` (without a tracer provider: the parent's, unchanged). */
export function traceparentOf(span: Span): string | undefined {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A consumer span for a delivery, child of the span its `traceparent` names; none while tracing is off. */
export function startConsumerSpan(
  type: string,
  traceparent: string | undefined,
  attributes: () => Record<string, string | number>,
): Span | undefined {
  if (!spansEnabled) return undefined;
  return tracer.startSpan(
    `process ${type}`,
    { kind: SpanKind.CONSUMER, attributes: attributes() },
    contextFrom(traceparent),
  );
}

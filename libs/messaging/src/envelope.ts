import { randomUUID } from 'node:crypto';
import { Notify, schemaId, type Contract } from '#contracts';
import { InvalidMessageError } from './errors.js';

/** Our headers (no `x-` prefix; the broker owns those). See DESIGN.md, "Message envelope". */
export const Header = {
  jobId: 'job-id',
  tenant: 'tenant',
  attempt: 'attempt',
  maxAttempts: 'max-attempts',
  traceparent: 'traceparent',
  schema: 'schema',
  errorMessage: 'error-message',
  errorCode: 'error-code',
  failedBy: 'failed-by',
  deadReason: 'dead-reason',
  replayCount: 'replay-count',
  /** JSON of the submission's `notify` (contracts' `Notify`), carried by the command and its retries. */
  notify: 'notify',
  /** Marks a lease copy: the same attempt, continued elsewhere if its holder died (see AmqpTransport). */
  leaseId: 'lease-id',
  /** On a pack (pack.ts): how many commands its body carries. */
  pack: 'pack',
} as const;

export type HeaderValue = string | number | boolean;
export type Headers = Record<string, HeaderValue>;

/** What a publisher says about a message beyond its payload. */
export interface EnvelopeMeta {
  /** Unique per publish intent (e.g. the outbox row id); generated when absent. */
  readonly messageId?: string;
  readonly jobId?: string;
  readonly tenant?: string;
  readonly attempt?: number;
  readonly maxAttempts?: number;
  readonly traceparent?: string;
  readonly replayCount?: number;
  readonly notify?: Notify;
}

/** AMQP properties we set on every publish (a subset of amqplib's `Options.Publish`). */
export interface EnvelopeProperties {
  messageId: string;
  correlationId?: string;
  type: string;
  contentType: 'application/json';
  persistent: true;
  timestamp: number;
  appId: string;
  headers: Headers;
}

export interface OutgoingMessage {
  readonly content: Buffer;
  readonly properties: EnvelopeProperties;
}

export function buildEnvelope(
  contract: Contract,
  payload: unknown,
  meta: EnvelopeMeta,
  appId: string,
): OutgoingMessage {
  const headers: Headers = { [Header.schema]: schemaId(contract), [Header.attempt]: meta.attempt ?? 1 };
  if (meta.jobId !== undefined) headers[Header.jobId] = meta.jobId;
  if (meta.tenant !== undefined) headers[Header.tenant] = meta.tenant;
  if (meta.maxAttempts !== undefined) headers[Header.maxAttempts] = meta.maxAttempts;
  if (meta.traceparent !== undefined) headers[Header.traceparent] = meta.traceparent;
  if (meta.replayCount !== undefined) headers[Header.replayCount] = meta.replayCount;
  if (meta.notify !== undefined) headers[Header.notify] = JSON.stringify(meta.notify);
  const properties = envelopeProperties(contract, meta.messageId ?? randomUUID(), appId, headers);
  if (meta.jobId !== undefined) properties.correlationId = meta.jobId;
  return { content: Buffer.from(JSON.stringify(payload)), properties };
}

/** The AMQP properties of a message of `contract` published now. */
export function envelopeProperties(
  contract: Contract,
  messageId: string,
  appId: string,
  headers: Headers,
): EnvelopeProperties {
  return {
    messageId,
    type: contract.name,
    contentType: 'application/json',
    persistent: true,
    timestamp: Math.floor(Date.now() / 1000),
    appId,
    headers,
  };
}

/** The parts of a delivered message the envelope reader needs (amqplib's `ConsumeMessage` fits). */
export interface DeliveredMessage {
  readonly content: Buffer;
  readonly fields: { readonly routingKey: string; readonly redelivered: boolean };
  readonly properties: {
    readonly messageId?: unknown;
    readonly correlationId?: unknown;
    readonly type?: unknown;
    readonly timestamp?: unknown;
    readonly headers?: Record<string, unknown> | undefined;
  };
}

export interface IncomingEnvelope {
  readonly messageId: string | undefined;
  /** The message type: the AMQP `type` property, else the routing key it was published with. */
  readonly type: string;
  readonly jobId: string | undefined;
  readonly tenant: string | undefined;
  readonly attempt: number;
  readonly maxAttempts: number | undefined;
  readonly traceparent: string | undefined;
  /** The submission's `notify`, when it had a valid one. */
  readonly notify: Notify | undefined;
  readonly redelivered: boolean;
  /** When the message was first published (AMQP timestamp, whole seconds), in ms since the epoch. */
  readonly publishedAt: number | undefined;
  /**
   * Which run of its job this command belongs to: how many times the job had been replayed from its dead
   * letter when the command was made (the `replay-count` header; 0 for the original submission). Retry and
   * lease copies keep it.
   */
  readonly replayCount: number;
  readonly headers: Headers;
}

/** Reads the envelope (never throws: a poison message still needs its headers for the DLQ). */
export function readEnvelope(message: DeliveredMessage): IncomingEnvelope {
  const headers = narrowHeaders(message.properties.headers);
  const attempt = headers[Header.attempt];
  const maxAttempts = headers[Header.maxAttempts];
  return {
    messageId: stringOrUndefined(message.properties.messageId),
    type: stringOrUndefined(message.properties.type) ?? message.fields.routingKey,
    jobId: stringOrUndefined(headers[Header.jobId]) ?? stringOrUndefined(message.properties.correlationId),
    tenant: stringOrUndefined(headers[Header.tenant]),
    attempt: positiveInt(attempt) ?? 1,
    maxAttempts: positiveInt(maxAttempts),
    traceparent: stringOrUndefined(headers[Header.traceparent]),
    notify: notifyOf(headers[Header.notify]),
    redelivered: message.fields.redelivered,
    publishedAt:
      typeof message.properties.timestamp === 'number' ? message.properties.timestamp * 1000 : undefined,
    replayCount: replayCountOf(headers),
    headers,
  };
}

/** The run a message's headers say it belongs to (`replay-count`; 0 when absent or not a count). */
export function replayCountOf(headers: Readonly<Record<string, unknown>>): number {
  return positiveInt(headers[Header.replayCount]) ?? 0;
}

/** The `replayCount` of an event's meta for a job's run: left out for the first run (0, as absent). */
export function replayCountMeta(replayCount: number): { replayCount?: number } {
  return replayCount > 0 ? { replayCount } : {};
}

/** Parses the body as JSON; a body that is not JSON is a permanent error. */
export function parseBody(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8')) as unknown;
  } catch {
    throw new InvalidMessageError(
      `Message body is not valid JSON (${content.length} bytes)`,
      'malformed_message',
    );
  }
}

function narrowHeaders(raw: Record<string, unknown> | undefined): Headers {
  const headers: Headers = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      headers[key] = value;
    else if (Buffer.isBuffer(value)) headers[key] = value.toString('utf8');
  }
  return headers;
}

/** A malformed `notify` header is ignored rather than poisoning the job it rides on. */
function notifyOf(value: HeaderValue | undefined): Notify | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed = Notify.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function positiveInt(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

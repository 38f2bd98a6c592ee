import { randomUUID } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import { schemaId, type Contract } from '#contracts';
import {
  envelopeProperties,
  Header,
  type EnvelopeProperties,
  type Headers,
  type OutgoingMessage,
} from './envelope.js';
import { InvalidMessageError } from './errors.js';

/** The most commands one pack may carry, whatever a contract asks for. */
export const MAX_PACK = 500;

/** One command inside a pack: its own AMQP properties (headers, ids, timestamp) and its JSON body. */
interface PackedPart {
  readonly p: Pick<EnvelopeProperties, 'messageId' | 'timestamp' | 'headers'> & { correlationId?: string };
  /** The command's body, JSON as a string: unpacked, it is that command's content byte for byte. */
  readonly b: string;
}

/**
 * Many commands of one type as one broker message (a contract's `pack`, see PackPolicy): the body is a
 * JSON array of the commands, each with its own headers and message id, and the `pack` header says how
 * many. The broker routes, stores and settles one message for all of them; the worker unpacks it into one
 * delivery per command ({@link unpack}), each run, retried and dead-lettered on its own as a single message.
 */
export function encodePack(
  contract: Contract,
  parts: readonly OutgoingMessage[],
  appId: string,
): OutgoingMessage {
  if (parts.length === 0 || parts.length > MAX_PACK)
    throw new RangeError(`A pack carries 1 to ${MAX_PACK} commands, not ${parts.length}`);
  const packed: PackedPart[] = parts.map(({ content, properties }) => ({
    // An absent correlationId is left out by JSON.stringify.
    p: {
      messageId: properties.messageId,
      timestamp: properties.timestamp,
      headers: properties.headers,
      correlationId: properties.correlationId,
    },
    b: content.toString('utf8'),
  }));
  const headers: Headers = { [Header.schema]: schemaId(contract), [Header.pack]: parts.length };
  return {
    content: Buffer.from(JSON.stringify(packed)),
    properties: envelopeProperties(contract, randomUUID(), appId, headers),
  };
}

/** Whether a delivery is a pack (it may still turn out malformed: see {@link unpack}). */
export function isPack(message: ConsumeMessage): boolean {
  return message.properties.headers?.[Header.pack] !== undefined;
}

/**
 * The commands of a pack as deliveries of their own: the pack's delivery fields and AMQP properties with
 * each command's headers, ids and body. Throws {@link InvalidMessageError} for a pack that is not one.
 */
export function unpack(message: ConsumeMessage): ConsumeMessage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.content.toString('utf8'));
  } catch {
    throw new InvalidMessageError(
      `Pack body is not valid JSON (${message.content.length} bytes)`,
      'malformed_message',
    );
  }
  const count = message.properties.headers?.[Header.pack] as unknown;
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > MAX_PACK || parsed.length !== count) {
    throw new InvalidMessageError(
      `Pack body is not an array of ${String(count)} commands`,
      'malformed_message',
    );
  }
  return parsed.map((part: unknown, i) => {
    if (!isPackedPart(part))
      throw new InvalidMessageError(`Pack command ${i} is malformed`, 'malformed_message');
    const { headers, messageId, timestamp, correlationId } = part.p;
    return {
      content: Buffer.from(part.b, 'utf8'),
      fields: message.fields,
      properties: { ...message.properties, headers, messageId, timestamp, correlationId },
    };
  });
}

function isPackedPart(value: unknown): value is PackedPart {
  if (typeof value !== 'object' || value === null) return false;
  const { p, b } = value as { p?: unknown; b?: unknown };
  if (typeof b !== 'string' || typeof p !== 'object' || p === null) return false;
  const { messageId, timestamp, headers, correlationId } = p as Record<string, unknown>;
  return (
    typeof messageId === 'string' &&
    typeof timestamp === 'number' &&
    typeof headers === 'object' &&
    headers !== null &&
    !Array.isArray(headers) &&
    !(Header.pack in headers) &&
    (correlationId === undefined || typeof correlationId === 'string')
  );
}

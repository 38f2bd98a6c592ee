import { describe, expect, it } from '@jest/globals';
import type { ConsumeMessage } from 'amqplib';
import { EchoCommands, ReportCommands, packable } from '#contracts';
import { buildEnvelope, Header, readEnvelope } from './envelope.js';
import { InvalidMessageError } from './errors.js';
import { encodePack, isPack, MAX_PACK, unpack } from './pack.js';

const echo = EchoCommands.run;
const command = (n: number) =>
  buildEnvelope(
    echo,
    { message: `hello ${n}`, failTimes: n, failPermanently: false, cpuMs: 0 },
    {
      jobId: `00000000-0000-4000-8000-00000000000${n}`,
      tenant: 'acme',
      maxAttempts: 5,
      traceparent: `tp-${n}`,
    },
    'gateway',
  );

/** A pack as the broker delivers it. */
function delivered(content: Buffer, headers: Record<string, unknown>): ConsumeMessage {
  return {
    content,
    fields: { deliveryTag: 7, redelivered: true, routingKey: 'echo.run', exchange: 'x', consumerTag: 'c' },
    properties: { type: 'echo.run', appId: 'gateway', headers } as ConsumeMessage['properties'],
  };
}

describe('packs', () => {
  it('unpack gives back each command as the single message it would have been', () => {
    const commands = [1, 2, 3].map(command);
    const pack = encodePack(echo, commands, 'gateway');
    expect(pack.properties.headers[Header.pack]).toBe(3);
    expect(pack.properties.type).toBe('echo.run');
    const message = delivered(pack.content, pack.properties.headers);
    expect(isPack(message)).toBe(true);
    const parts = unpack(message);
    expect(parts).toHaveLength(3);
    parts.forEach((part, i) => {
      const original = commands[i]!;
      expect(part.content.equals(original.content)).toBe(true);
      expect(part.properties.messageId).toBe(original.properties.messageId);
      expect(part.properties.correlationId).toBe(original.properties.correlationId);
      expect(part.properties.headers).toEqual(original.properties.headers);
      expect(part.fields.redelivered).toBe(true);
      const envelope = readEnvelope(part);
      expect(envelope.jobId).toBe(original.properties.headers[Header.jobId]);
      expect(envelope.attempt).toBe(1);
      expect(envelope.traceparent).toBe(`tp-${i + 1}`);
      expect(isPack(part)).toBe(false);
    });
  });

  it.each([
    ['not JSON', Buffer.from('[{'), 1],
    ['not an array', Buffer.from('{}'), 1],
    ['a count that does not match', Buffer.from(JSON.stringify([{ p: {}, b: '{}' }])), 2],
    ['an empty pack', Buffer.from('[]'), 0],
    [
      'a command without headers',
      Buffer.from(JSON.stringify([{ p: { messageId: 'm', timestamp: 1 }, b: '{}' }])),
      1,
    ],
    [
      'a command that claims to be a pack itself',
      Buffer.from(JSON.stringify([{ p: { messageId: 'm', timestamp: 1, headers: { pack: 1 } }, b: '{}' }])),
      1,
    ],
  ])('refuses a malformed pack: %s', (_name, content, count) => {
    expect(() => unpack(delivered(content, { [Header.pack]: count }))).toThrow(InvalidMessageError);
  });

  it('holds 1 to MAX_PACK commands', () => {
    expect(() => encodePack(echo, [], 'gateway')).toThrow(RangeError);
    expect(() =>
      encodePack(
        echo,
        Array.from({ length: MAX_PACK + 1 }, () => command(1)),
        'gateway',
      ),
    ).toThrow(RangeError);
  });

  it('packs only what the contract allows: echoes without cpuMs, never reports', () => {
    expect(packable(echo, { message: 'm', failTimes: 0, failPermanently: false, cpuMs: 0 })).toBe(true);
    expect(packable(echo, { message: 'm', failTimes: 0, failPermanently: false, cpuMs: 5 })).toBe(false);
    expect(packable(ReportCommands.generate, { format: 'csv', dataset: 'orders' })).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { EchoCommands } from '#contracts';
import { buildEnvelope, Header, parseBody, readEnvelope, type DeliveredMessage } from './envelope.js';
import { InvalidMessageError } from './errors.js';

const jobId = '0b9f7c1e-7d2a-4c1e-9a55-3f1b2c3d4e5f';

function delivered(
  overrides: Partial<DeliveredMessage['properties']>,
  routingKey = 'echo.run',
): DeliveredMessage {
  return { content: Buffer.from('{}'), fields: { routingKey, redelivered: false }, properties: overrides };
}

describe('envelope', () => {
  it('carries the design envelope: ids, type, persistence, and our headers without x- prefixes', () => {
    const { content, properties } = buildEnvelope(
      EchoCommands.run,
      { message: 'hi' },
      {
        messageId: 'outbox-1',
        jobId,
        tenant: 'acme',
        attempt: 2,
        maxAttempts: 5,
        traceparent: '00-abc-def-01',
      },
      'gateway',
    );
    expect(JSON.parse(content.toString())).toEqual({ message: 'hi' });
    expect(properties).toMatchObject({
      messageId: 'outbox-1',
      correlationId: jobId,
      type: 'echo.run',
      contentType: 'application/json',
      persistent: true,
      appId: 'gateway',
    });
    expect(properties.timestamp).toBeCloseTo(Date.now() / 1000, -1);
    expect(properties.headers).toEqual({
      [Header.schema]: 'echo.run/1',
      [Header.attempt]: 2,
      [Header.jobId]: jobId,
      [Header.tenant]: 'acme',
      [Header.maxAttempts]: 5,
      [Header.traceparent]: '00-abc-def-01',
    });
    expect(Object.keys(properties.headers).filter((h) => h.startsWith('x-'))).toEqual([]);
  });

  it('generates a message id per publish and starts at attempt 1', () => {
    const a = buildEnvelope(EchoCommands.run, {}, {}, 'x').properties;
    const b = buildEnvelope(EchoCommands.run, {}, {}, 'x').properties;
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.headers[Header.attempt]).toBe(1);
    expect(a).not.toHaveProperty('correlationId');
  });

  it('reads back what it wrote', () => {
    const { properties } = buildEnvelope(
      EchoCommands.run,
      {},
      { jobId, tenant: 't', attempt: 3, maxAttempts: 5 },
      'x',
    );
    expect(readEnvelope(delivered(properties))).toMatchObject({
      messageId: properties.messageId,
      type: 'echo.run',
      jobId,
      tenant: 't',
      attempt: 3,
      maxAttempts: 5,
      redelivered: false,
    });
  });

  it('reads a poison message without throwing, falling back to safe defaults', () => {
    const envelope = readEnvelope(
      delivered(
        { headers: { [Header.attempt]: 'NaN', [Header.jobId]: Buffer.from(jobId), nested: { a: 1 } } },
        'echo.run',
      ),
    );
    expect(envelope).toMatchObject({ type: 'echo.run', attempt: 1, jobId, messageId: undefined });
    expect(envelope.headers).not.toHaveProperty('nested');
  });

  it('takes the job id from the correlation id when the header is missing', () => {
    expect(readEnvelope(delivered({ correlationId: jobId })).jobId).toBe(jobId);
  });

  it('treats a body that is not JSON as a malformed message', () => {
    expect(() => parseBody(Buffer.from('{"a":'))).toThrow(InvalidMessageError);
    expect(() => parseBody(Buffer.from([0xff, 0xfe]))).toThrow(
      expect.objectContaining({ code: 'malformed_message' }),
    );
    expect(parseBody(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
  });
});

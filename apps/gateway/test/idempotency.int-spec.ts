import { describe, expect, it } from '@jest/globals';
import { useTestGateway } from './gateway-harness.js';

interface Reply {
  status: number;
  body: { id?: string; statusCode?: number; message?: string | string[] };
}

describe('gateway: Idempotency-Key', () => {
  const fixture = useTestGateway('idempotency');

  const submit = (path: string, body: unknown, key?: string, apiKey = 'acme-key') =>
    fixture.gateway.request(path, {
      key: apiKey,
      body,
      ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
    }) as Promise<Reply>;
  const jobsWith = async (message: string) =>
    Number(
      (
        await fixture.sql.query<{ n: string }>(
          `SELECT count(*) AS n FROM gateway.jobs WHERE input->>'message' = $1`,
          [message],
        )
      ).rows[0]?.n,
    );

  it('returns the same job for the same key and body (key order aside), and 409 for another body', async () => {
    const first = await submit('/v1/echo', { message: 'once', failTimes: 1 }, 'key-1');
    expect(first.status).toBe(202);
    const again = await submit('/v1/echo', { failTimes: 1, message: 'once' }, 'key-1');
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const changed = await submit('/v1/echo', { message: 'once', failTimes: 2 }, 'key-1');
    expect(changed.status).toBe(409);
    expect(await jobsWith('once')).toBe(1);
  });

  it('scopes keys per tenant and per route', async () => {
    const acme = await submit('/v1/echo', { message: 'scoped' }, 'shared-key');
    const globex = await submit('/v1/echo', { message: 'scoped' }, 'shared-key', 'globex-key');
    const otherRoute = await submit('/v1/reports', { format: 'csv', dataset: 'orders' }, 'shared-key');
    expect([acme.status, globex.status, otherRoute.status]).toEqual([202, 202, 202]);
    expect(new Set([acme.body.id, globex.body.id, otherRoute.body.id]).size).toBe(3);
  });

  it('creates exactly one job when ten requests race on one key', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => submit('/v1/echo', { message: 'race' }, 'race-key')),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(await jobsWith('race')).toBe(1);
  });

  it('does not use the key up on a rejected request, and rejects malformed keys', async () => {
    expect((await submit('/v1/echo', { message: 'later', unknown: 1 }, 'fresh-key')).status).toBe(400);
    expect((await submit('/v1/echo', { message: 'later' }, 'fresh-key')).status).toBe(202);
    expect((await submit('/v1/echo', { message: 'bad key' }, 'has space')).status).toBe(400);
    expect((await submit('/v1/echo', { message: 'bad key' }, 'x'.repeat(256))).status).toBe(400);
    expect(await jobsWith('bad key')).toBe(0);
  });

  it('requires a key for payments and validates the charge', async () => {
    const charge = { amount: 1999, currency: 'EUR', customerId: 'cus_42', description: 'Order 1234' };
    const missing = await submit('/v1/payments', charge);
    expect(missing.status).toBe(400);
    expect(String(missing.body.message)).toMatch(/Idempotency-Key/);
    expect((await submit('/v1/payments', { ...charge, currency: 'eur' }, 'pay-1')).status).toBe(400);
    expect((await submit('/v1/payments', { ...charge, amount: 0 }, 'pay-1')).status).toBe(400);
    expect((await submit('/v1/payments', { ...charge, amount: 19.99 }, 'pay-1')).status).toBe(400);
    const created = await submit('/v1/payments', charge, 'pay-1');
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ kind: 'payment', maxAttempts: 3 });
    expect((await submit('/v1/payments', charge, 'pay-1')).body.id).toBe(created.body.id);
  });
});

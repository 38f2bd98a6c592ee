import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BrokerAdmin, createTestDatabase, randomPrefix, type TestDatabase } from '#testing';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

/** Fair limits and HTTP hardening, on a real gateway (real broker and database, no worker: jobs stay queued). */
describe('gateway: rate limits, in-flight caps and hardening', () => {
  const prefix = randomPrefix('limits');
  let database: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    database = await createTestDatabase('limits');
    gateway = await startTestGateway({
      prefix,
      databaseUrl: database.url,
      // Refill slower than the test runs, so the counts are exact.
      config: { RATE_LIMIT_PER_SECOND: '0.5', RATE_LIMIT_BURST: '20', MAX_IN_FLIGHT_PER_TENANT: '3' },
    });
  });

  afterAll(async () => {
    await gateway?.app.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  it('caps a tenant’s jobs in flight with 429 + Retry-After; another tenant is unaffected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { status, headers } = await gateway.request('/v1/echo', {
        key: 'acme-key',
        body: { message: `${i}` },
      });
      statuses.push(status);
      if (status === 429) expect(Number(headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect((await gateway.request('/v1/echo', { key: 'globex-key', body: { message: 'mine' } })).status).toBe(
      202,
    );
    const rows = await database.query<{ n: string }>(
      `SELECT count(*) AS n FROM gateway.jobs WHERE tenant = 'acme'`,
    );
    expect(Number(rows[0]?.n)).toBe(3);
  });

  it('rate-limits a key’s burst: 429 with Retry-After for the excess only; another key goes on', async () => {
    // acme-read has spent nothing so far: its bucket holds 20.
    const results = await Promise.all(
      Array.from({ length: 26 }, () => gateway.request('/v1/jobs?limit=1', { key: 'acme-read' })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect((await gateway.request('/v1/jobs?limit=1', { key: 'ops-key' })).status).toBe(200);
  });

  it('refuses bodies over 1 MiB (413), other content types (415), unknown fields (400)', async () => {
    const huge = await fetch(`${gateway.url}/v1/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer globex-key', 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x', pad: 'y'.repeat(1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await fetch(`${gateway.url}/v1/echo`, {
        method: 'POST',
        headers: { authorization: 'Bearer globex-key', 'content-type': contentType },
        body: 'message=hello',
      });
      expect([contentType, response.status]).toEqual([contentType, 415]);
    }
    const extra = await gateway.request('/v1/echo', {
      key: 'globex-key',
      body: { message: 'x', role: 'admin' },
    });
    expect(extra.status).toBe(400);
  });

  it('sets helmet-style headers and no CORS headers', async () => {
    const { headers } = await gateway.request('/v1/jobs?limit=1', { key: 'ops-key' });
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    const preflight = await fetch(`${gateway.url}/v1/echo`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const error = await fetch(`${gateway.url}/v1/jobs`);
    expect(error.status).toBe(401);
    expect(error.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

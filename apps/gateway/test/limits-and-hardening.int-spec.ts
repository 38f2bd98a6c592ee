import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BrokerAdmin, createTestDatabase, randomPrefix, waitFor, type TestDatabase } from '#testing';
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

  it('holds schedules to the same cap: a tenant at it gets no scheduled jobs, its schedule still advances', async () => {
    // acme has 3 jobs queued (the test above): at its cap. globex has 1.
    const everySecond = (message: string) => ({
      cron: '* * * * * *',
      job: { kind: 'echo', body: { message } },
    });
    const capped = await gateway.request('/v1/schedules', { key: 'acme-key', body: everySecond('capped') });
    const other = await gateway.request('/v1/schedules', { key: 'globex-key', body: everySecond('other') });
    expect([capped.status, other.status]).toEqual([201, 201]);
    const jobsOf = async (scheduleId: string) =>
      Number(
        (
          await database.query<{ n: string }>(
            `SELECT count(*) AS n FROM gateway.jobs WHERE schedule_id = $1`,
            [scheduleId],
          )
        )[0]?.n,
      );
    const skipped = async () => {
      const metrics = (await gateway.request('/metrics')).body as string;
      return Number(
        /^conveyor_schedule_runs_skipped_total\{service="gateway"\} (\d+)$/m.exec(metrics)?.[1] ?? 0,
      );
    };
    const cappedId = (capped.body as { id: string }).id;
    const otherId = (other.body as { id: string }).id;

    await waitFor(async () => (await skipped()) >= 3, {
      timeoutMs: 10_000,
      description: 'three runs skipped',
    });
    // Before: every second made acme another job, whatever its cap.
    expect(await jobsOf(cappedId)).toBe(0);
    const [row] = await database.query<{ due: Date; last: Date | null }>(
      `SELECT next_run_at AS due, last_run_at AS last FROM gateway.schedules WHERE id = $1`,
      [cappedId],
    );
    expect(row?.due.getTime()).toBeGreaterThan(Date.now() - 2000);
    expect(row?.last).toBeNull();
    // globex, below its cap, got scheduled jobs (up to its cap: 1 submitted + 2 scheduled, give or take a
    // run admitted while the count refreshed).
    expect(await jobsOf(otherId)).toBeGreaterThanOrEqual(1);
    for (const [id, key] of [
      [cappedId, 'acme-key'],
      [otherId, 'globex-key'],
    ] as const) {
      await gateway.request(`/v1/schedules/${id}`, { key, method: 'DELETE' });
    }
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

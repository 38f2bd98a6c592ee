import { describe, expect, it } from '@jest/globals';
import { useTestGateway } from './gateway-harness.js';

/**
 * Input that passes a shape check but that Postgres refuses, or that overflows a recursive check: each is a
 * 400 that changes nothing, never a 500, and never a failure for the other submissions of its group commit.
 */
describe('gateway: input Postgres cannot store', () => {
  const fixture = useTestGateway('unstorable');
  const submit = (path: string, body: unknown, key = 'acme-key') =>
    fixture.gateway.request(path, { key, body });
  const cursorOf = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

  it('refuses NUL characters and unpaired surrogates anywhere in a body, while the submits beside them go in', async () => {
    const bad = [
      submit('/v1/echo', { message: 'a\u0000b' }),
      submit('/v1/echo', { message: 'half \ud800 a pair' }),
      submit('/v1/notifications', {
        channel: 'webhook',
        url: 'https://example.com/h',
        payload: { 'k\u0000': 1 },
      }),
      submit('/v1/notifications', { channel: 'webhook', url: 'https://example.com/h', payload: ['\udc00'] }),
      submit('/v1/schedules', { cron: '0 6 * * *', job: { kind: 'echo', body: { message: '\u0000' } } }),
    ];
    const good = Array.from({ length: 20 }, (_, i) => submit('/v1/echo', { message: `fine ${i}`, cpuMs: 0 }));
    const [refused, accepted] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    for (const reply of refused) {
      expect(reply.status).toBe(400);
      expect(JSON.stringify(reply.body)).toMatch(/NUL characters or unpaired surrogates/);
    }
    expect(refused[0]?.body).toMatchObject({
      message: ['body.message: must not contain NUL characters or unpaired surrogates'],
    });
    expect(accepted.map((r) => r.status)).toEqual(Array(20).fill(202));
    // A well-formed pair (an emoji) is text like any other.
    expect((await submit('/v1/echo', { message: 'ok \ud83d\ude00' })).status).toBe(202);
    const { rows } = await fixture.sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM gateway.jobs WHERE input->>'message' NOT LIKE 'fine %' AND input->>'message' <> 'ok 😀'`,
    );
    expect(rows[0]?.n).toBe('0');
  });

  it('refuses a body nested deeper than 64 levels with a 400, not a stack overflow', async () => {
    // Written out as text: a 5,000-deep value would overflow JSON.stringify here before it left.
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const response = await fetch(`${fixture.gateway.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: 'Bearer acme-key', 'content-type': 'application/json' },
      body: `{"channel":"webhook","url":"https://example.com/h","payload":${deep}}`,
    });
    const reply = { status: response.status, body: await response.json() };
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toMatch(/nests deeper than 64 levels/);
    let shallow: unknown = 1;
    for (let i = 0; i < 10; i++) shallow = { a: shallow };
    expect(
      (
        await submit('/v1/notifications', {
          channel: 'webhook',
          url: 'https://example.com/h',
          payload: shallow,
        })
      ).status,
    ).toBe(202);
  });

  it('refuses a runAt outside the years 1 to 9999 and report days that are not on the calendar', async () => {
    for (const runAt of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00', '9999-12-31T23:59:59-23:59']) {
      const reply = await submit('/v1/echo', { message: 'when', runAt });
      expect(reply.status).toBe(400);
      expect(JSON.stringify(reply.body)).toMatch(/body\.runAt: must be in the years 1 to 9999/);
    }
    for (const from of ['2026-02-30', '2026-13-01', '2025-02-29', '0000-01-01']) {
      const reply = await submit('/v1/reports', { format: 'csv', dataset: 'orders', filters: { from } });
      expect(reply.status).toBe(400);
      expect(JSON.stringify(reply.body)).toMatch(/body\.filters\.from: is not a day of the calendar/);
    }
    expect(
      (await submit('/v1/reports', { format: 'csv', dataset: 'orders', filters: { from: '2024-02-29' } }))
        .status,
    ).toBe(202);
  });

  it('refuses cursors whose time Postgres would refuse, on every listing', async () => {
    const nil = '00000000-0000-0000-0000-000000000000';
    for (const time of ['2024-02-30T00:00:00.000Z', '1', '2020-01-01 (x)', '0000-01-01T00:00:00.000Z']) {
      const cursor = cursorOf(`${time}|${nil}`);
      for (const [path, key] of [
        [`/v1/jobs?cursor=${cursor}`, 'acme-key'],
        [`/v1/schedules?cursor=${cursor}`, 'acme-key'],
        [`/v1/admin/dead-letters?cursor=${cursor}`, 'ops-key'],
      ] as const) {
        const reply = await fixture.gateway.request(path, { key });
        expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      }
    }
    // A cursor as the API writes it still pages.
    const page = await fixture.gateway.request(
      `/v1/jobs?limit=1&cursor=${cursorOf(`2026-01-01T00:00:00.000Z|${nil}`)}`,
      {
        key: 'acme-key',
      },
    );
    expect(page.status).toBe(200);
  });
});

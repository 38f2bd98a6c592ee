import { beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '#testing';
import { useTestGateway } from './gateway-harness.js';

describe('gateway: a Postgres that stops answering without a word', () => {
  // 1 s instead of 30: the pools give up on an unanswered query after 1 + 5 s.
  const fixture = useTestGateway('silent', { proxied: true, config: { DATABASE_STATEMENT_TIMEOUT: '1s' } });

  beforeAll(async () => {
    await waitFor(async () => (await fixture.gateway.request('/health/ready')).status === 200, {
      description: 'gateway ready',
    });
  });

  const submit = (message: string) =>
    fixture.gateway.request('/v1/echo', { key: 'acme-key', body: { message } });

  it('answers 503 with Retry-After once DATABASE_STATEMENT_TIMEOUT + 5 s have passed, and 202 again after', async () => {
    expect((await submit('before')).status).toBe(202);
    fixture.proxy.freeze();
    const started = performance.now();
    const { status, headers } = await submit('while frozen');
    const waited = performance.now() - started;
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toBe('5');
    expect(waited).toBeGreaterThanOrEqual(5500);
    expect(waited).toBeLessThan(9000);
    expect((await fixture.gateway.request('/health/ready')).status).toBe(503);
    fixture.proxy.thaw();
    await waitFor(async () => (await submit('after')).status === 202, { description: 'a 202 again' });
    // Nothing was accepted while frozen.
    const { rows } = await fixture.sql.query(
      `SELECT 1 FROM gateway.jobs WHERE input->>'message' = 'while frozen'`,
    );
    expect(rows).toHaveLength(0);
  });

  it('answers 503, not 500, when Postgres is there but cancels the submit at its statement timeout', async () => {
    await fixture.sql.query('BEGIN');
    await fixture.sql.query('LOCK TABLE gateway.jobs IN EXCLUSIVE MODE'); // the INSERT waits on it
    try {
      const started = performance.now();
      const { status, headers } = await submit('while locked');
      expect(status).toBe(503);
      expect(headers.get('retry-after')).toBe('5');
      expect(performance.now() - started).toBeLessThan(4000);
    } finally {
      await fixture.sql.query('ROLLBACK');
    }
    expect((await submit('unlocked')).status).toBe(202);
  });
});

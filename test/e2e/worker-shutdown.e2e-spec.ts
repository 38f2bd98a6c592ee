import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BrokerAdmin, Stack, waitFor } from '#testing';

const API_KEYS = 'acme:acme-key:jobs:write+jobs:read';

/** SIGTERM while a job runs: not ready at once, the job finishes and is acked, exit 0, nothing redelivered. */
describe('a worker stopped while it runs a job', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'e2e-drain',
      env: { API_KEYS, SHUTDOWN_GRACE: '20s' },
      services: ['gateway', 'report-service'],
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const job = async (id: string) =>
    (await (
      await fetch(`${stack.urls.gateway}/v1/jobs/${id}`, { headers: { authorization: 'Bearer acme-key' } })
    ).json()) as { status: string; attempts: number; result?: { message: string } };

  it('drains: readiness 503 at once, the running job succeeds once, the process exits 0 within the grace', async () => {
    const submitted = await fetch(`${stack.urls.gateway}/v1/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer acme-key', 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'finish me', cpuMs: 3000 }),
    });
    const { id } = (await submitted.json()) as { id: string };
    await waitFor(async () => (await job(id)).status === 'running', { description: 'the job running' });

    const worker = stack.processes.get('report-service');
    if (!worker) throw new Error('no report-service');
    const stopping = Date.now();
    worker.kill('SIGTERM');
    let retryAfter: string | null | undefined;
    await waitFor(
      async () => {
        const response = await fetch(`${stack.urls['report-service']}/health/ready`).catch(() => undefined);
        retryAfter = response?.headers.get('retry-after');
        return response?.status === 503;
      },
      { timeoutMs: 2000, intervalMs: 20, description: 'readiness 503 while draining' },
    );
    expect(retryAfter).toBe('5');
    expect(worker.process.exitCode).toBeNull(); // still draining, not gone

    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopping).toBeLessThan(20_000);
    await waitFor(async () => (await job(id)).status === 'succeeded', { description: 'the job succeeded' });
    expect(await job(id)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { message: 'finish me' },
    });

    // Acked before the exit: with no consumer left, an unacked message would be back in the queue by now.
    const admin = await BrokerAdmin.connect();
    try {
      expect(await admin.get(`${stack.prefix}.report-service.echo.run`)).toBeUndefined();
    } finally {
      await admin.close();
    }
    // And no second delivery ever started.
    const rows = await stack.query<{ n: number }>(
      'SELECT cardinality(started_events) AS n FROM gateway.jobs WHERE id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe(1);
  });
});

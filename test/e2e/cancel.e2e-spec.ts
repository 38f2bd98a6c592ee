import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Stack, waitFor } from '#testing';

const API_KEYS = 'acme:acme-key:jobs:write+jobs:read,globex:globex-key:jobs:write+jobs:read';

interface Job {
  id: string;
  status: string;
  attempts: number;
  progress: number;
  cancelRequested: boolean;
  startedAt?: string;
  finishedAt?: string;
}

/** POST /v1/jobs/:id/cancel through the gateway, with the real workers as processes. */
describe('cancelling jobs, and report files that expire', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'e2e-cancel',
      env: {
        API_KEYS,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        ARTIFACT_RETENTION: '4s',
        ARTIFACT_SWEEP_INTERVAL: '1s',
        ARTIFACT_DELETE_GRACE: '0s',
      },
      services: ['gateway', 'report-service'],
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function call(path: string, init: { key?: string; body?: unknown; method?: string } = {}) {
    return fetch(`${stack.urls.gateway}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${init.key ?? 'acme-key'}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  }
  const job = async (id: string) => (await (await call(`/v1/jobs/${id}`)).json()) as Job;
  const submit = async (path: string, body: unknown) => {
    const response = await call(path, { body });
    expect(response.status).toBe(202);
    return (await response.json()) as Job;
  };
  const cancel = (id: string, key = 'acme-key') => call(`/v1/jobs/${id}/cancel`, { method: 'POST', key });
  /** The worker's one log line per message handled, for this job. */
  const workerOutcomes = (id: string) =>
    (stack.processes.get('report-service')?.stdout ?? '')
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes(id))
      .map((line) => (JSON.parse(line) as { outcome?: string }).outcome)
      .filter((outcome) => outcome !== undefined);

  it('stops a running job within a second: cancelRequested at once, then cancelled', async () => {
    const { id } = await submit('/v1/echo', { message: 'spin', cpuMs: 10_000 });
    await waitFor(async () => (await job(id)).status === 'running', { description: 'the job running' });

    const requested = await cancel(id);
    const requestedAt = Date.now();
    expect(requested.status).toBe(202);
    expect(await requested.json()).toMatchObject({ id, status: 'running', cancelRequested: true });

    const done = await waitFor(
      async () => {
        const current = await job(id);
        return current.status === 'running' ? undefined : current;
      },
      { timeoutMs: 5000, intervalMs: 20, description: 'the job to stop' },
    );
    // A second for the worker to stop, plus the event's way back through the broker and the database.
    expect(Date.now() - requestedAt).toBeLessThan(1500);
    expect(done).toMatchObject({ status: 'cancelled', cancelRequested: true, attempts: 1 });
    expect(done.finishedAt).toBeDefined();
    expect((await cancel(id)).status).toBe(409);
  });

  it('stops a PDF report mid-render: cancelled, with no artifact left', async () => {
    const { id } = await submit('/v1/reports', { format: 'pdf', dataset: 'orders' });
    await waitFor(
      async () => {
        const current = await job(id);
        return current.status === 'running' && current.progress > 0 && current.progress < 50;
      },
      { timeoutMs: 30_000, intervalMs: 50, description: 'the report part-way through' },
    );
    const requestedAt = Date.now();
    expect((await cancel(id)).status).toBe(202);
    const done = await waitFor(
      async () => {
        const current = await job(id);
        return current.status === 'running' ? undefined : current;
      },
      { timeoutMs: 5000, intervalMs: 20, description: 'the report to stop' },
    );
    expect(Date.now() - requestedAt).toBeLessThan(1500);
    expect(done.status).toBe('cancelled');
    expect(done.progress).toBeLessThan(100);
    await waitFor(async () => workerOutcomes(id).includes('cancelled'), {
      description: 'the worker settled it',
    });
    const artifacts = await stack.query('SELECT id FROM artifacts.artifacts WHERE job_id = $1', [id]);
    expect(artifacts).toHaveLength(0);
    const download = await call(`/v1/reports/${id}/download`);
    expect(download.status).toBe(409);
  });

  it('cancels a queued report at once, and the worker never starts it, even one started after the cancel', async () => {
    await stack.stopService('report-service');
    const { id } = await submit('/v1/reports', { format: 'csv', dataset: 'orders' });
    expect((await job(id)).status).toBe('queued');

    const response = await cancel(id);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ id, status: 'cancelled' });

    await stack.restart('report-service');
    // Queues are FIFO: once a report submitted after it has run, the cancelled one was delivered.
    const after = await submit('/v1/reports', {
      format: 'csv',
      dataset: 'orders',
      filters: { status: 'paid' },
    });
    await waitFor(async () => (await job(after.id)).status === 'succeeded', {
      timeoutMs: 30_000,
      description: 'the later report',
    });
    await waitFor(() => workerOutcomes(id).length > 0, { description: 'the worker to settle it' });
    expect(workerOutcomes(id)).toEqual(['cancelled']);
    const cancelled = await job(id);
    expect(cancelled).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(cancelled.startedAt).toBeUndefined();
    const artifacts = await stack.query('SELECT id FROM artifacts.artifacts WHERE job_id = $1', [id]);
    expect(artifacts).toHaveLength(0);
  });

  it('cancels a scheduled job, which then never runs', async () => {
    const runAt = new Date(Date.now() + 1500).toISOString();
    const { id } = await submit('/v1/echo', { message: 'later', runAt });
    expect((await job(id)).status).toBe('scheduled');
    expect((await cancel(id)).status).toBe(202);
    // A job due just after it runs once the relay has passed the cancelled one's due time.
    const marker = await submit('/v1/echo', {
      message: 'due after',
      runAt: new Date(Date.parse(runAt) + 200).toISOString(),
    });
    await waitFor(async () => (await job(marker.id)).status === 'succeeded', {
      timeoutMs: 10_000,
      description: 'the job due after it',
    });
    expect(await job(id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    const outbox = await stack.query(
      `SELECT id FROM gateway.outbox WHERE job_id = $1 AND message_type <> 'control.cancel'`,
      [id],
    );
    expect(outbox).toHaveLength(0);
  });

  it('serves a finished report until its retention ends, then 410 Gone, and deletes the file', async () => {
    const { id } = await submit('/v1/reports', {
      format: 'csv',
      dataset: 'orders',
      filters: { status: 'refunded' },
    });
    await waitFor(async () => (await job(id)).status === 'succeeded', { description: 'the report' });
    expect((await call(`/v1/reports/${id}/download`)).status).toBe(200);
    // ARTIFACT_RETENTION is 4 s here, swept every second, deleted with no grace.
    await waitFor(async () => (await call(`/v1/reports/${id}/download`)).status === 410, {
      timeoutMs: 10_000,
      intervalMs: 250,
      description: 'the download to be gone',
    });
    await waitFor(
      async () =>
        (await stack.query('SELECT id FROM artifacts.artifacts WHERE job_id = $1', [id])).length === 0,
      { timeoutMs: 5000, description: 'the janitor to delete the file' },
    );
    const chunks = await stack.query(
      `SELECT c.artifact_id FROM artifacts.artifact_chunks c
         LEFT JOIN artifacts.artifacts a ON a.id = c.artifact_id WHERE a.id IS NULL`,
    );
    expect(chunks).toHaveLength(0);
    expect((await call(`/v1/reports/${id}/download`)).status).toBe(410);
  });

  it('answers 404 for another tenant’s job and 400 for an id that is not a UUID', async () => {
    const { id } = await submit('/v1/echo', {
      message: 'mine',
      runAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await cancel(id, 'globex-key')).status).toBe(404);
    expect((await job(id)).status).toBe('scheduled');
    expect((await cancel('not-a-uuid')).status).toBe(400);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Stack, waitFor } from '#testing';

const API_KEYS =
  'acme:acme-key:jobs:write+jobs:read,acme:acme-reader:jobs:read,globex:globex-key:jobs:write+jobs:read';

interface Job {
  id: string;
  kind: string;
  status: string;
  progress: number;
  attempts: number;
  maxAttempts: number;
  result?: Record<string, unknown>;
  links: Record<string, string>;
}

/** Everything through HTTP, with all four services running as processes on the real broker and database. */
describe('a report, end to end through the gateway', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'e2e-report',
      env: { API_KEYS, RETRY_TIERS: '500ms,1s', LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function call(
    path: string,
    init: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${stack.urls.gateway}${path}`, {
      method: init.body === undefined ? 'GET' : 'POST',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    return response;
  }

  const json = async <T>(response: Response) => (await response.json()) as T;

  it('submits a filtered CSV report, watches it run with progress, and downloads exactly what SQL selects', async () => {
    const filters = { from: '2025-01-01', to: '2026-06-30', status: 'paid' };
    const submitted = await call('/v1/reports', {
      key: 'acme-key',
      body: { format: 'csv', dataset: 'orders', filters },
    });
    expect(submitted.status).toBe(202);
    const job = await json<Job>(submitted);
    expect(job).toMatchObject({ kind: 'report', status: 'queued', progress: 0, attempts: 0, maxAttempts: 5 });
    expect(job.links.download).toBe(`/v1/reports/${job.id}/download`);

    const early = await call(`/v1/reports/${job.id}/download`, { key: 'acme-key' });
    if (early.status !== 200) expect(early.status).toBe(409);

    // The 202 itself is the first state seen: a fast worker may have started before the first poll.
    const seen: { status: string; progress: number }[] = [{ status: job.status, progress: job.progress }];
    const done = await waitFor(
      async () => {
        const current = await json<Job>(await call(`/v1/jobs/${job.id}`, { key: 'acme-reader' }));
        const last = seen.at(-1);
        if (!last || last.status !== current.status || last.progress !== current.progress) {
          seen.push({ status: current.status, progress: current.progress });
        }
        return current.status === 'succeeded' || current.status === 'failed' ? current : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 10, description: 'the report to finish' },
    );
    expect(done.status).toBe('succeeded');
    expect(seen[0]?.status).toBe('queued');
    expect(seen.some((s) => s.status === 'running' && s.progress > 0 && s.progress < 100)).toBe(true);
    const progress = seen.filter((s) => s.status === 'running').map((s) => s.progress);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(done).toMatchObject({ progress: 100, attempts: 1, result: { contentType: 'text/csv' } });

    const download = await call(`/v1/reports/${job.id}/download`, { key: 'acme-reader' });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.csv"$/);
    const csv = await download.text();
    expect(Buffer.byteLength(csv)).toBe(done.result?.bytes);

    const rows = await stack.query<{ line: string }>(
      `SELECT concat_ws(',', id, customer_id,
                CASE WHEN currency = 'JPY' THEN amount_minor::text ELSE to_char(amount_minor / 100.0, 'FM999999999990.00') END,
                currency, status, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS line
         FROM report.orders
        WHERE created_at >= $1::date AND created_at < $2::date + 1 AND status = $3
        ORDER BY created_at, id`,
      [filters.from, filters.to, filters.status],
    );
    const lines = csv.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe('id,customer_id,amount,currency,status,created_at');
    const body = lines.slice(1, -1);
    expect(rows.length).toBeGreaterThan(1000);
    expect(done.result?.rows).toBe(rows.length);
    expect(body).toHaveLength(rows.length);
    expect(body).toEqual(rows.map((r) => r.line));
  });

  it('guards every route: 401 without a key, 403 without the scope, 404 for another tenant, 400 for bad input', async () => {
    const valid = { format: 'csv', dataset: 'orders' };
    expect((await call('/v1/reports', { body: valid })).status).toBe(401);
    expect((await call('/v1/reports', { key: 'not-a-key', body: valid })).status).toBe(401);
    expect((await call('/v1/reports', { key: 'acme-reader', body: valid })).status).toBe(403);

    const unknownField = await call('/v1/reports', { key: 'acme-key', body: { ...valid, owner: 'me' } });
    expect(unknownField.status).toBe(400);
    expect(await json<{ message: string[] }>(unknownField)).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
    });
    const badFormat = await call('/v1/reports', { key: 'acme-key', body: { ...valid, format: 'xlsx' } });
    expect(badFormat.status).toBe(400);
    expect((await json<{ message: string[] }>(badFormat)).message.join(' ')).toMatch(/format/);

    const theirs = await json<Job>(await call('/v1/reports', { key: 'globex-key', body: valid }));
    expect((await call(`/v1/jobs/${theirs.id}`, { key: 'acme-key' })).status).toBe(404);
    expect((await call(`/v1/reports/${theirs.id}/download`, { key: 'acme-key' })).status).toBe(404);
    expect((await call('/v1/jobs/not-a-uuid', { key: 'acme-key' })).status).toBe(400);
    const listed = await json<{ items: Job[] }>(await call('/v1/jobs?limit=100', { key: 'acme-key' }));
    expect(listed.items.map((j) => j.id)).not.toContain(theirs.id);
  });

  it('runs an echo job that fails twice to success on its third attempt', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const submitted = await call('/v1/echo', {
      key: 'acme-key',
      body: { message: 'third time lucky', failTimes: 2 },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(submitted.status).toBe(202);
    const { id } = await json<Job>(submitted);
    const done = await waitFor(
      async () => {
        const job = await json<Job>(await call(`/v1/jobs/${id}`, { key: 'acme-key' }));
        return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'the echo job to finish' },
    );
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, result: { message: 'third time lucky' } });
    const metrics = await (await fetch(`${stack.urls['report-service']}/metrics`)).text();
    const queue = `${stack.prefix}.report-service.echo.run`;
    const retried = new RegExp(
      `^conveyor_messages_retried_total\\{[^}]*queue="${queue.replace(/\./g, '\\.')}"[^}]*\\} (\\d+)$`,
      'm',
    );
    expect(Number(retried.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(
      new RegExp(`^conveyor_queue_consumers\\{[^}]*queue="${queue.replace(/\./g, '\\.')}"[^}]*\\} 1$`, 'm'),
    );
    const gauge = (name: string, of: string) =>
      new RegExp(`^${name}\\{[^}]*queue="${of.replace(/\./g, '\\.')}"[^}]*\\} (\\d+)$`, 'm').exec(
        metrics,
      )?.[1];
    expect(gauge('conveyor_queue_messages_ready', `${queue}.dlq`)).toBe('0');
    expect(gauge('conveyor_queue_oldest_message_age_seconds', queue)).toBe('0');

    // The client's trace id is on the worker's log line for each attempt of this job.
    const workerLines = (stack.processes.get('report-service')?.stdout ?? '')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.jobId === id);
    expect(workerLines.map((l) => [l.outcome, l.attempt, l.traceId, l.tenant])).toEqual([
      ['retried', 1, traceId, 'acme'],
      ['retried', 2, traceId, 'acme'],
      ['succeeded', 3, traceId, 'acme'],
    ]);
  });

  it('pages through the job list with a cursor, newest first, filtered by kind', async () => {
    for (let i = 0; i < 5; i++) await call('/v1/echo', { key: 'globex-key', body: { message: `page ${i}` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/jobs?kind=echo&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await json<{ items: (Job & { input: { message: string } })[]; nextCursor: string | null }>(
        await call(query, { key: 'globex-key' }),
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((j) => j.input.message));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['page 4', 'page 3', 'page 2', 'page 1', 'page 0']);
    expect((await call('/v1/jobs?limit=0', { key: 'globex-key' })).status).toBe(400);
    expect((await call('/v1/jobs?status=lost', { key: 'globex-key' })).status).toBe(400);
    expect((await call('/v1/jobs?cursor=garbage', { key: 'globex-key' })).status).toBe(400);
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await json<{ paths: Record<string, { get?: { responses: Record<string, unknown> } }> }>(
      await call('/docs-json'),
    );
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/reports', '/v1/echo', '/v1/jobs', '/v1/jobs/{id}']),
    );
    for (const probe of ['/health/live', '/health/ready']) {
      expect(Object.keys(doc.paths[probe]?.get?.responses ?? {})).toEqual(['200', '503']);
    }
    expect((await call('/docs')).status).toBe(200);
  });
});

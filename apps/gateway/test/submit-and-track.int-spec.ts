import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { EchoCommands, JobEvents } from '#contracts';
import { buildEnvelope, Header, TopologyNames } from '#messaging';
import {
  BrokerAdmin,
  createTestDatabase,
  randomPrefix,
  TcpProxy,
  waitFor,
  type TestDatabase,
} from '#testing';
import { OutboxRelay } from '../src/outbox/outbox.relay.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

interface JobBody {
  id: string;
  status: string;
  attempts: number;
  progress: number;
  result?: unknown;
  error?: unknown;
  startedAt?: string;
  finishedAt?: string;
}

describe('gateway: submit, outbox, lifecycle', () => {
  const prefix = randomPrefix('gw');
  const names = new TopologyNames(prefix);
  const echoQueue = names.workQueue('report-service', EchoCommands.run.name);
  let database: TestDatabase;
  let proxy: TcpProxy;
  let admin: BrokerAdmin;
  let gateway: TestGateway;
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('gateway');
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    admin = await BrokerAdmin.connect();
    gateway = await startTestGateway({ prefix, databaseUrl: viaProxy.toString() });
    // Ready means the lifecycle-event consumer is attached: events published from here on are consumed.
    await waitFor(async () => (await gateway.request('/health/ready')).status === 200, {
      description: 'gateway ready',
    });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await gateway?.app.close();
    await sql?.end();
    await proxy?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  const submitEcho = (message: string) =>
    gateway.request('/v1/echo', { key: 'acme-key', body: { message } }) as Promise<{
      status: number;
      body: JobBody;
      headers: Headers;
    }>;

  const publishEvent = (type: string, body: Record<string, unknown>, messageId = randomUUID()) => {
    const contract = Object.values(JobEvents).find((c) => c.name === type);
    if (!contract) throw new Error(type);
    const { content, properties } = buildEnvelope(contract, body, { messageId }, 'test');
    return admin.publish(names.events, type, content, properties);
  };

  const seqOf = async (id: string) =>
    Number(
      (await sql.query<{ seq: string }>('SELECT seq FROM gateway.jobs WHERE id = $1', [id])).rows[0]?.seq,
    );

  const echoSucceededCount = async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const line =
      /^conveyor_jobs_finished_total\{(?=[^}]*kind="echo")(?=[^}]*status="succeeded")[^}]*\} (\d+)/m;
    return Number(line.exec(metrics)?.[1] ?? 0);
  };

  const jobOf = async (id: string) =>
    (await gateway.request(`/v1/jobs/${id}`, { key: 'acme-key' })).body as JobBody;

  it('records the job and publishes its command with the envelope, confirmed, after the commit', async () => {
    const { status, body } = await submitEcho('ship it');
    expect(status).toBe(202);
    expect(body).toMatchObject({ status: 'queued', attempts: 0 });

    const command = await waitFor(() => admin.get(echoQueue), {
      description: 'the echo command on its queue',
    });
    expect(JSON.parse(command.content.toString())).toEqual({
      message: 'ship it',
      failTimes: 0,
      failPermanently: false,
      cpuMs: 0,
    });
    expect(command.properties).toMatchObject({ correlationId: body.id, type: 'echo.run', appId: 'gateway' });
    expect(command.properties.headers).toMatchObject({
      [Header.jobId]: body.id,
      [Header.tenant]: 'acme',
      [Header.maxAttempts]: 5,
    });

    // The job row is its own outbox record: the message id is the job's, no outbox row was written, and
    // once the broker confirmed, the job (still waiting: no worker here) is marked dispatched.
    expect(command.properties.messageId).toBe(body.id);
    expect((await sql.query('SELECT 1 FROM gateway.outbox WHERE job_id = $1', [body.id])).rowCount).toBe(0);
    await waitFor(
      async () =>
        (
          await sql.query<{ dispatched: boolean }>('SELECT dispatched FROM gateway.jobs WHERE id = $1', [
            body.id,
          ])
        ).rows[0]?.dispatched === true,
      { description: 'the job marked dispatched after the confirm' },
    );
  });

  it('relays a job the fast path never confirmed from its own row, once, and leaves a started one alone', async () => {
    const [orphan, started, recent] = [randomUUID(), randomUUID(), randomUUID()];
    const notify = { email: 'ops@example.com' };
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await sql.query(
      `INSERT INTO gateway.jobs (id, tenant, kind, status, max_attempts, input, created_at, dispatched, traceparent, seq)
       VALUES ($1, 'acme', 'echo', 'queued', 5, $3, now() - interval '1 minute', false, $4, 1),
              ($2, 'acme', 'echo', 'running', 5, '{"message":"started"}', now() - interval '1 minute', false, NULL, 2),
              ($5, 'acme', 'echo', 'queued', 5, '{"message":"recent"}', now() - interval '6 seconds', false, NULL, 1)`,
      [
        orphan,
        started,
        JSON.stringify({ message: 'orphan', runAt: new Date().toISOString(), notify }),
        traceparent,
        recent,
      ],
    );
    const command = await waitFor(() => admin.get(echoQueue), { description: 'the relayed job command' });
    expect(command.properties.messageId).toBe(orphan);
    expect(JSON.parse(command.content.toString())).toEqual({
      message: 'orphan',
      failTimes: 0,
      failPermanently: false,
      cpuMs: 0,
    });
    expect(command.properties.headers).toMatchObject({
      [Header.jobId]: orphan,
      [Header.tenant]: 'acme',
      [Header.maxAttempts]: 5,
      [Header.traceparent]: traceparent,
      [Header.notify]: JSON.stringify(notify),
    });
    await waitFor(
      async () =>
        (
          await sql.query<{ dispatched: boolean }>('SELECT dispatched FROM gateway.jobs WHERE id = $1', [
            orphan,
          ])
        ).rows[0]?.dispatched === true,
      { description: 'the relayed job marked dispatched' },
    );
    // Two more relay passes: nothing else is published. The recent job is still the fast path's: its
    // confirm may yet come (PUBLISH_CONFIRM_TIMEOUT, 10 s here), and a copy sent now would be a duplicate.
    const relay = gateway.app.get(OutboxRelay);
    await relay.relayOnce();
    await relay.relayOnce();
    expect(await admin.get(echoQueue)).toBeUndefined();
    const left = await sql.query<{ dispatched: boolean }>(
      'SELECT dispatched FROM gateway.jobs WHERE id = $1',
      [recent],
    );
    expect(left.rows[0]?.dispatched).toBe(false);
  });

  it('relays an outbox row the fast path never published (a crash between commit and publish)', async () => {
    const jobId = randomUUID();
    const outboxId = randomUUID();
    await sql.query(
      `WITH j AS (INSERT INTO gateway.jobs (id, tenant, kind, status, max_attempts, input, created_at)
                  VALUES ($1, 'acme', 'echo', 'queued', 5, '{"message":"orphan"}', now() - interval '5 seconds') RETURNING id)
       INSERT INTO gateway.outbox (id, job_id, message_type, payload, meta, created_at)
       SELECT $2, id, 'echo.run', '{"message":"orphan"}', '{"tenant":"acme","maxAttempts":5}', now() - interval '5 seconds' FROM j`,
      [jobId, outboxId],
    );
    const command = await waitFor(() => admin.get(echoQueue), { description: 'the relayed command' });
    expect(command.properties.messageId).toBe(outboxId);
    expect(command.properties.headers?.[Header.jobId]).toBe(jobId);
    await waitFor(
      async () => (await sql.query('SELECT 1 FROM gateway.outbox WHERE id = $1', [outboxId])).rowCount === 0,
      { description: 'the relayed row deleted' },
    );
  });

  it('applies lifecycle events monotonically: late, duplicate and out-of-order events never move a job back', async () => {
    const { body } = await submitEcho('track me');
    const id = body.id;
    await waitFor(() => admin.get(echoQueue), { description: 'command published' });
    const at = () => new Date().toISOString();

    const firstStart = randomUUID();
    await publishEvent('job.started', { jobId: id, attempt: 1, at: at() }, firstStart);
    await waitFor(async () => (await jobOf(id)).status === 'running', { description: 'running' });
    // The same event delivered twice counts once.
    await publishEvent('job.started', { jobId: id, attempt: 1, at: at() }, firstStart);
    await publishEvent('job.progress', { jobId: id, progress: 40, at: at() });
    await waitFor(async () => (await jobOf(id)).progress === 40, { description: 'progress 40' });
    expect((await jobOf(id)).attempts).toBe(1);

    await publishEvent('job.retrying', {
      jobId: id,
      attempt: 1,
      error: { message: 'flaky', code: 'transient_failure' },
      retryAt: at(),
      at: at(),
    });
    await waitFor(async () => (await jobOf(id)).status === 'retrying', { description: 'retrying' });
    await publishEvent('job.started', { jobId: id, attempt: 2, at: at() });
    await waitFor(async () => (await jobOf(id)).attempts === 2, { description: 'second attempt' });
    // A retrying event of attempt 1 arriving after attempt 2 started is stale.
    await publishEvent('job.retrying', {
      jobId: id,
      attempt: 1,
      error: { message: 'stale', code: 'x' },
      retryAt: at(),
      at: at(),
    });
    await publishEvent('job.succeeded', { jobId: id, attempt: 2, result: { ok: true }, at: at() });
    await waitFor(async () => (await jobOf(id)).status === 'succeeded', { description: 'succeeded' });
    // Late arrivals after the terminal state do not move it; a start still counts as an attempt (API.md:
    // attempts are the times a worker started the job), the status stays.
    await publishEvent('job.started', { jobId: id, attempt: 3, at: at() });
    await publishEvent('job.failed', {
      jobId: id,
      attempt: 2,
      error: { message: 'late', code: 'x' },
      at: at(),
    });
    const marker = await submitEcho('marker');
    await waitFor(() => admin.get(echoQueue), { description: 'marker published' });
    await publishEvent('job.started', { jobId: marker.body.id, attempt: 1, at: at() });
    await waitFor(async () => (await jobOf(marker.body.id)).status === 'running', {
      description: 'events after the late ones consumed',
    });

    expect(await jobOf(id)).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      progress: 100,
      result: { ok: true },
    });
    expect((await jobOf(id)).error).toBeUndefined();
  });

  it('applies a start and an end that arrive in one batch as one change, under the same guards', async () => {
    const at = () => new Date().toISOString();
    const [fresh, repeated, failed] = await Promise.all(
      ['fresh', 'repeated', 'failed'].map(async (m) => (await submitEcho(m)).body.id),
    );
    if (!fresh || !repeated || !failed) throw new Error('submit failed');
    const repeatedStart = randomUUID();
    await publishEvent('job.started', { jobId: repeated, attempt: 1, at: at() }, repeatedStart);
    await publishEvent('job.failed', {
      jobId: failed,
      attempt: 1,
      error: { message: 'gone', code: 'x' },
      at: at(),
    });
    await waitFor(async () => (await jobOf(failed)).status === 'failed', { description: 'failed first' });
    await waitFor(async () => (await jobOf(repeated)).status === 'running', { description: 'running' });
    const seqBefore = await seqOf(fresh);
    const finishedBefore = await echoSucceededCount();

    const entry = (type: string, body: Record<string, unknown>, id: string = randomUUID()) => ({
      type,
      id,
      body,
    });
    const started = (jobId: string, id?: string) => entry('job.started', { jobId, attempt: 1, at: at() }, id);
    const succeeded = (jobId: string) =>
      entry('job.succeeded', { jobId, attempt: 1, result: { job: jobId }, at: at() });
    await publishEvent('job.batch', {
      events: [
        started(fresh),
        succeeded(fresh),
        // Its start was recorded already: the end still applies, through the separate statement.
        started(repeated, repeatedStart),
        succeeded(repeated),
        // Already failed: the start counts as an attempt, the end does not move it.
        started(failed),
        succeeded(failed),
      ],
    });
    await waitFor(async () => (await jobOf(repeated)).status === 'succeeded', { description: 'repeated' });
    await waitFor(async () => (await jobOf(fresh)).status === 'succeeded', { description: 'fresh' });

    const freshJob = await jobOf(fresh);
    expect(freshJob).toMatchObject({ attempts: 1, progress: 100, result: { job: fresh } });
    expect(freshJob.startedAt).toEqual(expect.any(String));
    expect(freshJob.finishedAt).toEqual(expect.any(String));
    // One visible change: the job went from queued to succeeded in a single row version.
    expect(await seqOf(fresh)).toBe(seqBefore + 1);
    expect(await jobOf(repeated)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { job: repeated },
    });
    expect(await jobOf(failed)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await jobOf(failed)).result).toBeUndefined();
    // Each finished job counted once (the failed one not at all).
    expect((await echoSucceededCount()) - finishedBefore).toBe(2);
  });

  it('answers 503 with Retry-After, never 202, while Postgres is unreachable, and recovers after', async () => {
    await proxy.cut();
    try {
      const started = Date.now();
      const { status, headers } = await submitEcho('during the outage');
      expect(status).toBe(503);
      expect(headers.get('retry-after')).toBe('5');
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await gateway.request('/health/ready')).status).toBe(503);
      expect((await gateway.request('/health/live')).status).toBe(200);
      expect((await gateway.request(`/v1/jobs/${randomUUID()}`, { key: 'acme-key' })).status).toBe(503);
    } finally {
      await proxy.restore();
    }
    const { rows } = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM gateway.jobs WHERE input->>'message' = 'during the outage'`,
    );
    expect(rows[0]?.n).toBe('0');
    await waitFor(async () => (await submitEcho('after the outage')).status === 202, {
      timeoutMs: 15_000,
      description: 'a 202 again',
    });
    await waitFor(async () => (await gateway.request('/health/ready')).status === 200, {
      description: 'ready again',
    });
  });
});

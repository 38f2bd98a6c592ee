import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '#database';
import { Metrics } from '#observability';
import { createTestDatabase, waitFor, type TestDatabase } from '#testing';
import { GATEWAY_SCHEMA } from '../src/gateway.database.js';
import { JobTransitions } from '../src/jobs/job-transitions.js';
import { StartedEventsOnJobs1764500000000 } from '../src/migrations/1764500000000-started-events-on-jobs.js';
import { JobReplays1764700000000 } from '../src/migrations/1764700000000-job-replays.js';
import { gatewayMigrations } from '../src/migrations/index.js';

/** Real Postgres: how `started` events are counted, by two gateways at once, and the migration to it. */
describe('JobTransitions against Postgres', () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];

  const gatewayDb = async (migrations = gatewayMigrations) => {
    const source = createDataSource({
      url: db.url,
      schema: GATEWAY_SCHEMA,
      migrations,
      applicationName: 'job-transitions-test',
    });
    sources.push(await source.initialize());
    return source;
  };
  const insertJob = async (id: string) => {
    await db.query(
      `INSERT INTO gateway.jobs (id, tenant, kind, status, max_attempts, input, created_at)
       VALUES ($1, 'acme', 'echo', 'queued', 5, '{"message":"x"}', now())`,
      [id],
    );
  };
  const jobOf = async (id: string) =>
    (
      await db.query<{ attempts: number; status: string; started_events: string[] }>(
        `SELECT attempts, status, started_events FROM gateway.jobs WHERE id = $1`,
        [id],
      )
    )[0];
  /** Statements of this database waiting for a lock right now. */
  const lockWaiters = async () =>
    Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      )[0]?.n,
    );
  const started = (jobId: string, eventId: string, attempt = 1) => ({
    type: 'started' as const,
    eventId,
    event: { jobId, attempt, at: new Date().toISOString() },
  });

  beforeAll(async () => {
    db = await createTestDatabase('job_transitions');
  });

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.destroy()));
  });

  afterAll(async () => {
    await db.drop();
  });

  it('keeps the started events a job counted when it migrates them onto the job, and back', async () => {
    // The migrations up to the one under test (later ones are not its business).
    const at = gatewayMigrations.indexOf(StartedEventsOnJobs1764500000000);
    const before = await gatewayDb(gatewayMigrations.slice(0, at));
    await runMigrations(before, GATEWAY_SCHEMA);
    const [job, other] = [randomUUID(), randomUUID()];
    const [first, second] = [randomUUID(), randomUUID()];
    await insertJob(job);
    await insertJob(other);
    await db.query(
      `INSERT INTO gateway.job_attempts (event_id, job_id, attempt, started_at)
       VALUES ($1, $3, 1, now() - interval '1 minute'), ($2, $3, 2, now())`,
      [first, second, job],
    );
    await db.query(`UPDATE gateway.jobs SET attempts = 2, status = 'running' WHERE id = $1`, [job]);

    const after = await gatewayDb(gatewayMigrations.slice(0, at + 1));
    expect(await runMigrations(after, GATEWAY_SCHEMA)).toEqual(['StartedEventsOnJobs1764500000000']);
    expect(await jobOf(job)).toMatchObject({ attempts: 2, started_events: [first, second] });
    expect(await jobOf(other)).toMatchObject({ attempts: 0, started_events: [] });
    // A late copy of an event counted before the migration still counts nothing (today's transitions need
    // the later migrations too).
    const today = await gatewayDb();
    await runMigrations(today, GATEWAY_SCHEMA);
    await new JobTransitions(today, new Metrics('gateway')).apply(started(job, first));
    expect((await jobOf(job))?.attempts).toBe(2);

    for (let undone = gatewayMigrations.length; undone > at; undone--) await today.undoLastMigration();
    const rows = await db.query<{ event_id: string; attempt: number }>(
      `SELECT event_id, attempt FROM gateway.job_attempts WHERE job_id = $1 ORDER BY attempt`,
      [job],
    );
    expect(rows).toEqual([
      { event_id: first, attempt: 1 },
      { event_id: second, attempt: 2 },
    ]);
    await runMigrations(after, GATEWAY_SCHEMA);
  });

  it('counts a start once when two gateways apply the same event at the same moment', async () => {
    const [one, two] = [await gatewayDb(), await gatewayDb()];
    await runMigrations(one, GATEWAY_SCHEMA);
    const gateways = [
      new JobTransitions(one, new Metrics('gateway')),
      new JobTransitions(two, new Metrics('gateway')),
    ] as const;
    const job = randomUUID();
    await insertJob(job);

    // Both UPDATEs read the row before either has counted anything: a lock held on it makes them wait
    // until both are queued behind it, so the second runs after the first committed.
    const together = async (events: ReturnType<typeof started>[]) => {
      const locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM gateway.jobs WHERE id = $1 FOR UPDATE', [job]);
        const applied = events.map((event, i) => gateways[i % 2 === 0 ? 0 : 1].apply(event));
        await waitFor(async () => (await lockWaiters()) === events.length, {
          description: 'both UPDATEs waiting on the row',
        });
        await locker.query('COMMIT');
        await Promise.all(applied);
      } finally {
        await locker.end();
      }
    };

    const first = randomUUID();
    await together([started(job, first), started(job, first)]);
    expect(await jobOf(job)).toMatchObject({ attempts: 1, status: 'running', started_events: [first] });

    // Two different deliveries at once both count.
    const [second, third] = [randomUUID(), randomUUID()];
    await together([started(job, second, 2), started(job, third, 2)]);
    const counted = await jobOf(job);
    expect(counted?.attempts).toBe(3);
    expect(new Set(counted?.started_events)).toEqual(new Set([first, second, third]));

    // Copies arriving later, alone or with the others of their batch, count nothing.
    await gateways[0].applyAll([started(job, second, 2), started(job, first)]);
    expect((await jobOf(job))?.attempts).toBe(3);
  });

  it('leaves a replayed job alone when its earlier run reports late, and follows the run it is on', async () => {
    const source = await gatewayDb();
    await runMigrations(source, GATEWAY_SCHEMA);
    const transitions = new JobTransitions(source, new Metrics('gateway'));
    const at = () => new Date().toISOString();
    const error = { code: 'permanent_failure', message: 'boom' };
    const of = (jobId: string, run: number | undefined) => ({
      started: (attempt = 1) => ({ ...started(jobId, randomUUID(), attempt), run }),
      progress: (progress: number) => ({
        type: 'progress' as const,
        run,
        event: { jobId, progress, at: at() },
      }),
      retrying: (attempt: number) => ({
        type: 'retrying' as const,
        run,
        event: { jobId, attempt, error, retryAt: at(), at: at() },
      }),
      succeeded: (attempt = 1) => ({
        type: 'succeeded' as const,
        run,
        event: { jobId, attempt, result: { run: run ?? 0 }, at: at() },
      }),
      failed: (attempt = 3) => ({ type: 'failed' as const, run, event: { jobId, attempt, error, at: at() } }),
      cancelled: () => ({ type: 'cancelled' as const, run, event: { jobId, attempt: 1, at: at() } }),
    });
    const row = async (id: string) =>
      (
        await db.query<{ status: string; attempts: number; progress: number; result: unknown }>(
          `SELECT status, attempts, progress, result FROM gateway.jobs WHERE id = $1`,
          [id],
        )
      )[0];

    // A job replayed once: back to queued, on its run 1 (as the replay leaves it).
    const job = randomUUID();
    await insertJob(job);
    await db.query(`UPDATE gateway.jobs SET replays = 1 WHERE id = $1`, [job]);
    const old = of(job, undefined); // run 0 is sent as no run
    for (const late of [old.failed(), old.started(3), old.retrying(3), old.succeeded(3), old.cancelled()]) {
      await transitions.apply(late);
    }
    expect(await row(job)).toMatchObject({ status: 'queued', attempts: 0, result: null });

    const now = of(job, 1);
    await transitions.apply(now.started());
    await transitions.applyAll([old.failed(), old.progress(90), now.progress(40)]);
    expect(await row(job)).toMatchObject({ status: 'running', attempts: 1, progress: 40 });
    // One batch with both runs' ends: the current run's counts.
    await transitions.applyAll([old.failed(), now.succeeded(), old.cancelled()]);
    expect(await row(job)).toMatchObject({ status: 'succeeded', attempts: 1, result: { run: 1 } });

    // A later run than the record knows (a job replayed before the record counted replays) applies.
    const earlier = randomUUID();
    await insertJob(earlier);
    await transitions.applyAll([of(earlier, 2).started(), of(earlier, 2).failed(1)]);
    expect(await row(earlier)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('stores results and errors with text Postgres refuses, mended, beside the other events of their batch', async () => {
    const source = await gatewayDb();
    await runMigrations(source, GATEWAY_SCHEMA);
    const transitions = new JobTransitions(source, new Metrics('gateway'));
    const at = new Date().toISOString();
    // A webhook receiver's answer cut in the middle of an emoji, and a NUL from a provider's reply.
    const cut = `Webhook receiver answered 500: ${'😀'.slice(0, 1)}`;
    const [failing, succeeding, retrying, fine] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    for (const id of [failing, succeeding, retrying, fine]) await insertJob(id);
    await transitions.applyAll([
      started(failing, randomUUID()),
      { type: 'failed', event: { jobId: failing, attempt: 1, error: { code: 'x', message: cut }, at } },
      started(succeeding, randomUUID()),
      { type: 'succeeded', event: { jobId: succeeding, attempt: 1, result: { ['k\0']: 'a\0b' }, at } },
      started(retrying, randomUUID()),
      {
        type: 'retrying',
        event: { jobId: retrying, attempt: 1, error: { code: 'y', message: `\0${cut}` }, retryAt: at, at },
      },
      started(fine, randomUUID()),
      { type: 'succeeded', event: { jobId: fine, attempt: 1, result: { ok: true }, at } },
    ]);
    const rows = await db.query<{ id: string; status: string; result: unknown; error: unknown }>(
      `SELECT id, status, result, error FROM gateway.jobs WHERE id = ANY($1::uuid[])`,
      [[failing, succeeding, retrying, fine]],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(failing)).toMatchObject({
      status: 'failed',
      error: { message: `${cut.slice(0, -1)}\uFFFD` },
    });
    expect(byId.get(succeeding)).toMatchObject({ status: 'succeeded', result: { 'k\uFFFD': 'a\uFFFDb' } });
    expect(byId.get(retrying)).toMatchObject({
      status: 'retrying',
      error: { message: `\uFFFD${cut.slice(0, -1)}\uFFFD` },
    });
    expect(byId.get(fine)).toMatchObject({ status: 'succeeded', result: { ok: true } });
  });

  it('starts each job replayed before the migration at the run its dead letters say', async () => {
    // The database as it was before the migration under test (earlier tests applied them all).
    const at = gatewayMigrations.indexOf(JobReplays1764700000000);
    const source = await gatewayDb();
    await runMigrations(source, GATEWAY_SCHEMA);
    for (let undone = gatewayMigrations.length; undone > at; undone--) await source.undoLastMigration();
    const [twice, pending, never] = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of [twice, pending, never]) await insertJob(id);
    const letter = (jobId: string, replayCount: number | undefined, replayed: boolean) =>
      db.query(
        `INSERT INTO gateway.dead_letters (id, message_id, job_id, tenant, queue, routing_key, headers, error,
                                           attempts, dead_at, replayed_at)
         VALUES ($1, $2, $3, 'acme', 'q', 'echo.run', $4, '{"message":"x","code":"y"}', 1, now(),
                 CASE WHEN $5 THEN now() END)`,
        [
          randomUUID(),
          randomUUID(),
          jobId,
          JSON.stringify(replayCount === undefined ? {} : { 'replay-count': replayCount }),
          replayed,
        ],
      );
    // Replayed twice (its second replay runs now); failed once and not replayed yet.
    await letter(twice, undefined, true);
    await letter(twice, 1, true);
    await letter(pending, undefined, false);

    expect(await runMigrations(source, GATEWAY_SCHEMA)).toEqual(
      gatewayMigrations.slice(at).map((m) => m.name),
    );
    const replays = async (id: string) =>
      (await db.query<{ replays: number }>(`SELECT replays FROM gateway.jobs WHERE id = $1`, [id]))[0]
        ?.replays;
    expect(await replays(twice)).toBe(2);
    expect(await replays(pending)).toBe(0);
    expect(await replays(never)).toBe(0);
  });

  it('leaves failed a job the archive failed while a start and end for it waited on its row', async () => {
    const source = await gatewayDb();
    await runMigrations(source, GATEWAY_SCHEMA);
    const transitions = new JobTransitions(source, new Metrics('gateway'));
    const job = randomUUID();
    await insertJob(job);
    await db.query(`UPDATE gateway.jobs SET status = 'running' WHERE id = $1`, [job]);

    // The archive holds the row (marking the job failed from its dead letter) while a batch with a start
    // and an end of another delivery of the job reads it as running and waits for it.
    const archive = new pg.Client({ connectionString: db.url });
    await archive.connect();
    try {
      await archive.query('BEGIN');
      await archive.query(`UPDATE gateway.jobs SET status = 'failed', finished_at = now() WHERE id = $1`, [
        job,
      ]);
      const at = new Date().toISOString();
      const applied = transitions.applyAll([
        started(job, randomUUID(), 2),
        { type: 'succeeded', event: { jobId: job, attempt: 2, result: { late: true }, at } },
      ]);
      await waitFor(async () => (await lockWaiters()) === 1, { description: 'the batch waiting on the row' });
      await archive.query('COMMIT');
      await applied;
    } finally {
      await archive.end();
    }
    // The attempt is counted (it happened), but failed is final: the row as locked decides, not the
    // statement's snapshot.
    expect(
      (
        await db.query<{ status: string; attempts: number; result: unknown }>(
          `SELECT status, attempts, result FROM gateway.jobs WHERE id = $1`,
          [job],
        )
      )[0],
    ).toEqual({ status: 'failed', attempts: 1, result: null });
  });
});

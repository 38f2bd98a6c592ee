import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { BrokerAdmin, createTestDatabase, randomPrefix, waitFor, type TestDatabase } from '#testing';
import { startTestWorker, type TestWorker } from '../../../libs/messaging/test/worker-harness.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

/** Replicas that look for due schedules every 20 ms contend for nearly every due time. */
const FAST_TICK = { SCHEDULE_TICK: '20ms' };
/** How long every gateway is down in the catch-up scenario: three and a half one-second ticks. */
const OUTAGE_MS = 3500;

interface Run {
  id: string;
  scheduled_for: Date;
  created_at: Date;
  status: string;
}

const createdBy = async (gateway: TestGateway): Promise<number> => {
  const text = (await gateway.request('/metrics')).body as string;
  const match = /^conveyor_schedule_jobs_created_total\{kind="echo",service="gateway"\} (\d+)$/m.exec(text);
  return Number(match?.[1] ?? 0);
};

describe('gateway: schedules across replicas and downtime', () => {
  const prefix = randomPrefix('replicas');
  let database: TestDatabase;
  let gateways: TestGateway[] = [];
  let worker: TestWorker;
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('replicas');
    gateways = [await startTestGateway({ prefix, databaseUrl: database.url, config: FAST_TICK })];
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    // Without the unique guard, so that only the claim (SKIP LOCKED + advance in one transaction) keeps
    // replicas from making a second job for a due time: a duplicate would show here.
    await sql.query('DROP INDEX gateway.jobs_schedule_run');
    gateways.push(
      await startTestGateway({ prefix, databaseUrl: database.url, config: FAST_TICK }),
      await startTestGateway({ prefix, databaseUrl: database.url, config: FAST_TICK }),
    );
    worker = await startTestWorker(prefix);
  });

  afterAll(async () => {
    await worker?.app.close();
    for (const gateway of gateways) await gateway.app.close();
    await sql?.end();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  const runsOf = async (scheduleId: string): Promise<Run[]> =>
    (
      await sql.query<Run>(
        `SELECT id, scheduled_for, created_at, status FROM gateway.jobs WHERE schedule_id = $1
          ORDER BY scheduled_for, created_at`,
        [scheduleId],
      )
    ).rows;
  const everySecond = async (message: string): Promise<string> => {
    const { status, body } = await gateways[0]!.request('/v1/schedules', {
      key: 'acme-key',
      body: { cron: '* * * * * *', job: { kind: 'echo', body: { message } } },
    });
    expect(status).toBe(201);
    return (body as { id: string }).id;
  };
  const seconds = (runs: readonly Run[]) => runs.map((r) => r.scheduled_for.getTime() / 1000);

  it('three gateways on one database make exactly one job per tick over 10 ticks', async () => {
    const before = await Promise.all(gateways.map(createdBy));
    const id = await everySecond('replicated');
    await waitFor(async () => (await runsOf(id)).length >= 11, {
      timeoutMs: 20_000,
      description: '11 scheduled jobs',
    });
    await gateways[0]!.request(`/v1/schedules/${id}`, { key: 'acme-key', method: 'DELETE' });
    const runs = await runsOf(id);
    const ticks = seconds(runs);
    // No due time twice, and none skipped: each a second after the one before.
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.slice(1).map((t, i) => t - ticks[i]!)).toEqual(ticks.slice(1).map(() => 1));
    expect(ticks.length).toBeGreaterThanOrEqual(10);

    // Each ran once on the worker.
    await waitFor(async () => (await runsOf(id)).every((r) => r.status === 'succeeded'), {
      description: 'every scheduled job to succeed',
    });
    for (const run of runs) expect(worker.script.deliveriesOf(run.id)).toHaveLength(1);
    const after = await Promise.all(gateways.map(createdBy));
    const byGateway = after.map((n, i) => n - before[i]!);
    expect(byGateway.reduce((a, b) => a + b, 0)).toBe(runs.length);
    console.info(`jobs created per gateway: ${byGateway.join(', ')}`);
  });

  it('after every gateway was down for 3+ ticks, one catch-up job, then one per tick again', async () => {
    const id = await everySecond('downtime');
    await waitFor(async () => (await runsOf(id)).length >= 2, { description: 'two runs before the outage' });
    for (const gateway of gateways) await gateway.app.close();
    gateways = [];
    const lastBefore = (await runsOf(id)).at(-1)!;
    const downSince = Date.now();
    // The outage is the scenario, not a wait for something: no dispatcher runs for OUTAGE_MS, so at least
    // three due times pass unserved. There is no event to wait for — nothing happening is the point.
    await sleep(OUTAGE_MS);
    gateways = [await startTestGateway({ prefix, databaseUrl: database.url, config: FAST_TICK })];

    const later = async () =>
      (await runsOf(id)).filter((r) => r.scheduled_for.getTime() > lastBefore.scheduled_for.getTime());
    const after = await waitFor(async () => ((await later()).length >= 4 ? later() : false), {
      timeoutMs: 15_000,
      description: 'a catch-up run and three more',
    });
    const [catchUp, ...regular] = after;
    // The catch-up is for the first missed due time, created only after the restart...
    expect(catchUp!.scheduled_for.getTime()).toBe(lastBefore.scheduled_for.getTime() + 1000);
    expect(catchUp!.created_at.getTime()).toBeGreaterThanOrEqual(downSince + OUTAGE_MS);
    // ...and it is the only job for every due time missed while down (at least three of them).
    const missed = after.filter((r) => r.scheduled_for.getTime() < catchUp!.created_at.getTime());
    expect(missed).toEqual([catchUp]);
    expect(regular[0]!.scheduled_for.getTime() - catchUp!.scheduled_for.getTime()).toBeGreaterThanOrEqual(
      3000,
    );
    // Then one per tick.
    const ticks = seconds(regular);
    expect(ticks.slice(1).map((t, i) => t - ticks[i]!)).toEqual(ticks.slice(1).map(() => 1));
    await gateways[0]!.request(`/v1/schedules/${id}`, { key: 'acme-key', method: 'DELETE' });
  });
});

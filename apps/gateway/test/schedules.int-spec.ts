import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { BrokerAdmin, createTestDatabase, randomPrefix, waitFor, type TestDatabase } from '#testing';
import { startTestWorker, type TestWorker } from '../../../libs/messaging/test/worker-harness.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

interface Schedule {
  id: string;
  cron: string;
  timezone: string;
  nextRunAt: string;
  lastRunAt?: string;
  job: { kind: string; body: Record<string, unknown> };
  createdAt: string;
}

interface Job {
  id: string;
  status: string;
  scheduleId?: string;
  input: Record<string, unknown>;
}

const NEVER_SOON = '0 0 1 1 *'; // New Year: never due while a test runs

describe('gateway: schedules', () => {
  const prefix = randomPrefix('sched');
  let database: TestDatabase;
  let gateway: TestGateway;
  let worker: TestWorker;
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('schedules');
    gateway = await startTestGateway({ prefix, databaseUrl: database.url });
    worker = await startTestWorker(prefix);
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await worker?.app.close();
    await gateway?.app.close();
    await sql?.end();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  const create = (body: unknown, key = 'acme-key') => gateway.request('/v1/schedules', { key, body });
  const createOk = async (body: unknown, key = 'acme-key') => {
    const response = await create(body, key);
    expect(response.status).toBe(201);
    return response.body as Schedule;
  };
  const echoEverySecond = (message: string) => ({
    cron: '* * * * * *',
    job: { kind: 'echo', body: { message } },
  });
  const jobsOf = async (scheduleId: string) =>
    (
      await sql.query<{ id: string; scheduled_for: Date }>(
        `SELECT id, scheduled_for FROM gateway.jobs WHERE schedule_id = $1 ORDER BY scheduled_for`,
        [scheduleId],
      )
    ).rows;

  describe('validation', () => {
    const valid = { cron: NEVER_SOON, job: { kind: 'echo', body: { message: 'x' } } };

    it.each([
      ['a cron with 4 fields', { ...valid, cron: '* * * *' }, 'body.cron'],
      ['a cron with 7 fields', { ...valid, cron: '* * * * * * *' }, 'body.cron'],
      ['a cron with a bad value', { ...valid, cron: '61 * * * *' }, 'body.cron'],
      ['a cron that never fires', { ...valid, cron: '0 0 30 2 *' }, 'body.cron'],
      ['an unknown time zone', { ...valid, timezone: 'Europe/Atlantis' }, 'body.timezone'],
      ['an unknown kind', { ...valid, job: { kind: 'sms', body: {} } }, 'body.job.kind'],
      [
        'an unknown field in the body',
        { ...valid, job: { kind: 'echo', body: { message: 'x', extra: 1 } } },
        'body.job.body',
      ],
      [
        'runAt in the body',
        { ...valid, job: { kind: 'echo', body: { message: 'x', runAt: '2030-01-01T00:00:00Z' } } },
        'body.job.body',
      ],
      [
        'a body invalid for its kind',
        { ...valid, job: { kind: 'report', body: { format: 'xls', dataset: 'orders' } } },
        'body.job.body.format',
      ],
      [
        'a notification body of no channel',
        { ...valid, job: { kind: 'notification', body: { channel: 'sms', to: 'x' } } },
        'body.job.body.channel',
      ],
      [
        'a notification email without subject',
        {
          ...valid,
          job: { kind: 'notification', body: { channel: 'email', to: 'a@example.com', text: 'hi' } },
        },
        'body.job.body.subject',
      ],
      ['an unknown top-level field', { ...valid, paused: true }, 'body'],
      ['a missing job', { cron: NEVER_SOON }, 'body.job'],
    ])('refuses %s with 400 naming the field', async (_, body, field) => {
      const { status, body: error } = await create(body);
      expect(status).toBe(400);
      expect((error as { message: string[] }).message.some((m) => m.startsWith(field))).toBe(true);
    });

    it('refuses payment schedules with 400 saying why', async () => {
      const body = {
        cron: NEVER_SOON,
        job: { kind: 'payment', body: { amount: 1999, currency: 'EUR', customerId: 'cus_42' } },
      };
      const { status, body: error } = await create(body);
      expect(status).toBe(400);
      expect((error as { message: string[] }).message).toEqual([
        expect.stringMatching(/^body\.job\.kind: payment schedules are not supported/),
      ]);
    });

    it('needs jobs:write to create', async () => {
      expect((await create(valid, 'acme-read')).status).toBe(403);
    });

    it('accepts each kind with a body valid for it, in a time zone, with the next run at its local time', async () => {
      const report = await createOk({
        cron: '0 6 * * *',
        timezone: 'europe/berlin',
        job: { kind: 'report', body: { format: 'csv', dataset: 'orders', filters: { status: 'paid' } } },
      });
      expect(report).toMatchObject({
        cron: '0 6 * * *',
        timezone: 'Europe/Berlin',
        job: { kind: 'report', body: { format: 'csv', dataset: 'orders', filters: { status: 'paid' } } },
      });
      const next = new Date(report.nextRunAt);
      expect(next.getTime()).toBeGreaterThan(Date.now());
      expect(next.getTime()).toBeLessThanOrEqual(Date.now() + 86_400_000);
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }).format(next);
      expect(local).toBe('06:00:00');

      const webhook = await createOk({
        cron: NEVER_SOON,
        job: {
          kind: 'notification',
          body: { channel: 'webhook', url: 'https://hooks.example.com/x', payload: { a: 1 } },
        },
      });
      expect(webhook.timezone).toBe('UTC');
      // Echo's defaults are filled in, as a submission's input shows them.
      const echo = await createOk(valid);
      expect(echo.job.body).toEqual({ message: 'x', failTimes: 0, failPermanently: false, cpuMs: 0 });
    });
  });

  describe('reading and deleting', () => {
    it('shows a schedule to its tenant and admins only, and 400 for an id that is not a UUID', async () => {
      const mine = await createOk({ cron: NEVER_SOON, job: { kind: 'echo', body: { message: 'mine' } } });
      const get = (key: string) => gateway.request(`/v1/schedules/${mine.id}`, { key });
      expect((await get('acme-read')).body).toEqual(mine);
      expect((await get('globex-key')).status).toBe(404);
      expect((await get('ops-key')).status).toBe(200);
      expect((await gateway.request('/v1/schedules/not-a-uuid', { key: 'acme-key' })).status).toBe(400);
      expect(
        (await gateway.request('/v1/schedules/00000000-0000-4000-8000-000000000000', { key: 'acme-key' }))
          .status,
      ).toBe(404);
    });

    it("lists the tenant's schedules newest first with a cursor; admins see every tenant's", async () => {
      const globex = await createOk(
        { cron: NEVER_SOON, job: { kind: 'echo', body: { message: 'g' } } },
        'globex-key',
      );
      const pages: Schedule[][] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
        const { status, body } = await gateway.request(`/v1/schedules${query}`, { key: 'acme-key' });
        expect(status).toBe(200);
        const page = body as { items: Schedule[]; nextCursor: string | null };
        pages.push(page.items);
        cursor = page.nextCursor;
      } while (cursor);
      const listed = pages.flat();
      const { rows } = await sql.query<{ id: string }>(
        `SELECT id FROM gateway.schedules WHERE tenant = 'acme' AND deleted_at IS NULL ORDER BY created_at DESC, id DESC`,
      );
      expect(rows.length).toBeGreaterThan(2);
      expect(listed.map((s) => s.id)).toEqual(rows.map((r) => r.id));
      expect(pages.every((p) => p.length <= 2)).toBe(true);

      const all = (await gateway.request('/v1/schedules?limit=100', { key: 'ops-key' })).body as {
        items: Schedule[];
      };
      expect(all.items.map((s) => s.id)).toContain(globex.id);
      expect(all.items.length).toBe(rows.length + 1);
      expect((await gateway.request('/v1/schedules?limit=0', { key: 'acme-key' })).status).toBe(400);
      expect((await gateway.request('/v1/schedules?cursor=bogus', { key: 'acme-key' })).status).toBe(400);
    });

    it("deletes with 204; another tenant's is 404 and stays", async () => {
      const mine = await createOk({ cron: NEVER_SOON, job: { kind: 'echo', body: { message: 'bye' } } });
      const del = (key: string, id = mine.id) =>
        gateway.request(`/v1/schedules/${id}`, { key, method: 'DELETE' });
      expect((await del('globex-key')).status).toBe(404);
      expect((await gateway.request(`/v1/schedules/${mine.id}`, { key: 'acme-key' })).status).toBe(200);
      expect((await del('acme-read')).status).toBe(403);
      expect((await del('acme-key', 'nope')).status).toBe(400);
      expect((await del('acme-key')).status).toBe(204);
      expect((await gateway.request(`/v1/schedules/${mine.id}`, { key: 'acme-key' })).status).toBe(404);
      expect((await del('acme-key')).status).toBe(404);
    });
  });

  describe('dispatch', () => {
    it('creates jobs of the schedule’s tenant, kind and body that carry its id and run', async () => {
      const schedule = await createOk(echoEverySecond('tick'));
      const runs = await waitFor(
        async () => ((await jobsOf(schedule.id)).length >= 2 ? jobsOf(schedule.id) : false),
        {
          timeoutMs: 10_000,
          description: 'two scheduled jobs',
        },
      );
      const [first] = runs;
      if (!first) throw new Error('no run');
      const job = await waitFor(
        async () => {
          const { body } = await gateway.request(`/v1/jobs/${first.id}`, { key: 'acme-key' });
          return (body as Job).status === 'succeeded' && (body as Job);
        },
        { description: 'the scheduled job to succeed' },
      );
      expect(job).toMatchObject({
        scheduleId: schedule.id,
        input: { message: 'tick', failTimes: 0, failPermanently: false, cpuMs: 0 },
      });
      expect((await gateway.request(`/v1/jobs/${first.id}`, { key: 'globex-key' })).status).toBe(404);
      expect(worker.script.deliveriesOf(first.id)).toHaveLength(1);
      // Due times are whole seconds, one apart; the schedule shows the latest.
      expect(first.scheduled_for.getMilliseconds()).toBe(0);
      expect(runs[1]?.scheduled_for.getTime()).toBe(first.scheduled_for.getTime() + 1000);
      const shown = (await gateway.request(`/v1/schedules/${schedule.id}`, { key: 'acme-key' }))
        .body as Schedule;
      expect(new Date(shown.lastRunAt ?? 0).getTime()).toBeGreaterThanOrEqual(
        runs.at(-1)?.scheduled_for.getTime() ?? Infinity,
      );
      await gateway.request(`/v1/schedules/${schedule.id}`, { key: 'acme-key', method: 'DELETE' });
    });

    it('stops making jobs once deleted', async () => {
      const doomed = await createOk(echoEverySecond('doomed'));
      const marker = await createOk(echoEverySecond('marker'));
      await waitFor(async () => (await jobsOf(doomed.id)).length >= 1, { description: 'a first run' });
      expect(
        (await gateway.request(`/v1/schedules/${doomed.id}`, { key: 'acme-key', method: 'DELETE' })).status,
      ).toBe(204);
      const afterDelete = (await jobsOf(doomed.id)).length;
      const markerRuns = (await jobsOf(marker.id)).length;
      // Two more ticks of the marker: the deleted schedule would have been due in both.
      await waitFor(async () => (await jobsOf(marker.id)).length >= markerRuns + 2, {
        description: 'two more runs of the marker schedule',
      });
      expect((await jobsOf(doomed.id)).length).toBe(afterDelete);
      await gateway.request(`/v1/schedules/${marker.id}`, { key: 'acme-key', method: 'DELETE' });
    });

    it('a due time that already has its job gets no second one; the schedule still advances', async () => {
      const schedule = await createOk({
        cron: NEVER_SOON,
        job: { kind: 'echo', body: { message: 'guard' } },
      });
      const dueAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
      const rewind = () =>
        sql.query(`UPDATE gateway.schedules SET next_run_at = $2 WHERE id = $1`, [schedule.id, dueAt]);
      const advanced = async () =>
        (
          await sql.query<{ n: Date }>(`SELECT next_run_at AS n FROM gateway.schedules WHERE id = $1`, [
            schedule.id,
          ])
        ).rows[0]!.n.getTime() > Date.now();
      await rewind();
      await waitFor(advanced, { description: 'the overdue schedule to run and advance' });
      expect((await jobsOf(schedule.id)).map((r) => r.scheduled_for)).toEqual([dueAt]);

      // As if a claim had let the same due time through again.
      await rewind();
      await waitFor(advanced, { description: 'the rewound schedule to advance' });
      expect((await jobsOf(schedule.id)).map((r) => r.scheduled_for)).toEqual([dueAt]);
      const metrics = (await gateway.request('/metrics')).body as string;
      expect(metrics).toMatch(/^conveyor_schedule_run_conflicts_total\{service="gateway"\} 1$/m);
      expect(metrics).toMatch(/^conveyor_schedule_lag_seconds\{service="gateway"\} \d/m);
      expect(metrics).toMatch(/^conveyor_schedule_jobs_created_total\{kind="echo",service="gateway"\} \d+$/m);
    });
  });
});

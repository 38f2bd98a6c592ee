import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobEvents, ReportCommands, ReportEvents, type GenerateReport } from '#contracts';
import {
  BrokerAdmin,
  createTestDatabase,
  EventRecorder,
  randomPrefix,
  readAll,
  waitFor,
  type RecordedEvent,
  type TestDatabase,
} from '#testing';
import { startReportService, type RunningReportService } from './report-service-harness.js';

const SEED_ROWS = 20_000;
const HEADER = 'id,customer_id,amount,currency,status,created_at';

/**
 * The CSV lines Postgres itself renders for the same filter: an implementation independent of the
 * service's formatter (every seeded amount is positive; JPY has no minor digits).
 */
const EXPECTED_LINES = `
  SELECT id::text || ',' || customer_id || ',' ||
         CASE WHEN currency = 'JPY' THEN amount_minor::text
              ELSE (amount_minor / 100)::text || '.' || lpad((amount_minor % 100)::text, 2, '0') END
         || ',' || currency || ',' || status || ',' ||
         to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS line
    FROM report.orders`;

describe('report.generate end to end (real Postgres and RabbitMQ)', () => {
  const prefix = randomPrefix('report');
  let database: TestDatabase;
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let readyRecorder: EventRecorder;
  let service: RunningReportService;

  beforeAll(async () => {
    database = await createTestDatabase('report_generate');
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
    readyRecorder = await EventRecorder.start(prefix, ReportEvents.ready.name);
    service = await startReportService({ databaseUrl: database.url, prefix, seedRows: SEED_ROWS });
  });

  afterAll(async () => {
    await service?.app.close();
    await recorder?.close();
    await readyRecorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  async function submit(jobId: string, cmd: GenerateReport): Promise<void> {
    await service.publisher.publish(ReportCommands.generate, cmd, { jobId, tenant: 'acme' });
  }

  async function download(artifactId: string): Promise<string> {
    return (await readAll(service.artifacts.openReader(artifactId))).toString('utf8');
  }

  /** `where` is written out here rather than taken from the service, so the filter's meaning is tested too. */
  async function expectedLines(where = ''): Promise<string[]> {
    const rows = await service.dataSource.query<{ line: string }[]>(
      `${EXPECTED_LINES} ${where} ORDER BY created_at, id`,
    );
    return rows.map((r) => r.line);
  }

  async function artifactsOfJob(jobId: string): Promise<number> {
    const [row] = await service.dataSource.query<{ n: number }[]>(
      'SELECT count(*)::int AS n FROM artifacts.artifacts WHERE job_id = $1',
      [jobId],
    );
    return row!.n;
  }

  function resultOf(event: RecordedEvent): {
    rows: number;
    bytes: number;
    contentType: string;
    artifactId: string;
  } {
    return event.body.result as { rows: number; bytes: number; contentType: string; artifactId: string };
  }

  const filtered: GenerateReport = {
    format: 'csv',
    dataset: 'orders',
    filters: { from: '2025-03-01', to: '2025-06-30', status: 'paid' },
  };
  const filteredJob = randomUUID();

  it('renders a filtered report: the same rows, in the same order, as the filter run in SQL', async () => {
    await submit(filteredJob, filtered);
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, filteredJob, 30_000);

    const expected = await expectedLines(
      `WHERE created_at >= '2025-03-01T00:00:00Z' AND created_at < '2025-07-01T00:00:00Z' AND status = 'paid'`,
    );
    expect(expected.length).toBeGreaterThan(1000);
    const result = resultOf(succeeded);
    expect(result).toMatchObject({ rows: expected.length, contentType: 'text/csv' });

    const csv = await download(result.artifactId);
    expect(Buffer.byteLength(csv)).toBe(result.bytes);
    expect(csv.endsWith('\r\n')).toBe(true);
    const [header, ...lines] = csv.slice(0, -2).split('\r\n');
    expect(header).toBe(HEADER);
    expect(lines).toHaveLength(expected.length);
    expect(lines.map((l) => l.split(',')[0])).toEqual(expected.map((l) => l.split(',')[0]));
    expect(lines).toEqual(expected);
    // The `to` day counts in full.
    expect(lines.some((l) => l.includes(',2025-06-30T'))).toBe(true);

    const artifact = await service.artifacts.get(result.artifactId);
    expect(artifact).toMatchObject({
      jobId: filteredJob,
      tenant: 'acme',
      status: 'complete',
      filename: `report-${filteredJob}.csv`,
      bytes: result.bytes,
    });
    expect(artifact!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  });

  it('answers a duplicate command for a finished job with the same artifact, rendering nothing', async () => {
    const first = await recorder.waitForEvent(JobEvents.succeeded.name, filteredJob, 30_000);

    await submit(filteredJob, filtered);
    const [, second] = await waitFor(
      () => {
        const events = recorder.ofJob(filteredJob, JobEvents.succeeded.name);
        return events.length >= 2 && events;
      },
      { timeoutMs: 30_000, description: 'the second job.succeeded' },
    );

    expect(resultOf(second!)).toEqual(resultOf(first));
    expect(await artifactsOfJob(filteredJob)).toBe(1);
    const progressAfterFirst = recorder
      .ofJob(filteredJob, JobEvents.progressed.name)
      .filter((e) => e.receivedAt > first.receivedAt);
    expect(progressAfterFirst).toEqual([]);
    // report.ready again, for the same artifact (consumers dedupe).
    const ready = await waitFor(
      () => {
        const events = readyRecorder.ofJob(filteredJob);
        return events.length >= 2 && events;
      },
      { description: 'report.ready for both deliveries' },
    );
    expect(ready.map((e) => e.body.artifactId)).toEqual([
      resultOf(first).artifactId,
      resultOf(first).artifactId,
    ]);
    expect(ready[0]!.body).toMatchObject({ format: 'csv', rows: resultOf(first).rows });
  });

  it('replaces what a crashed attempt left with one complete artifact', async () => {
    const jobId = randomUUID();
    const crashed = service.artifacts.createWriter({
      jobId,
      tenant: 'acme',
      contentType: 'text/csv',
      filename: 'partial.csv',
      expiresAt: new Date(Date.now() + 60_000),
    });
    await new Promise((resolve) => crashed.write(Buffer.alloc(300_000, 'x'), resolve));

    await submit(jobId, { format: 'csv', dataset: 'orders', filters: { status: 'cancelled' } });
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 30_000);

    expect(await service.artifacts.get(crashed.artifactId)).toBeUndefined();
    expect(await artifactsOfJob(jobId)).toBe(1);
    const csv = await download(resultOf(succeeded).artifactId);
    expect(csv.split('\r\n').slice(1, -1)).toEqual(await expectedLines(`WHERE status = 'cancelled'`));
  });

  it('renders the whole dataset, publishing increasing progress along the way', async () => {
    const jobId = randomUUID();

    await submit(jobId, { format: 'csv', dataset: 'orders' });
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 30_000);

    const result = resultOf(succeeded);
    expect(result.rows).toBe(SEED_ROWS);
    const lines = (await download(result.artifactId)).split('\r\n');
    expect(lines[0]).toBe(HEADER);
    const expected = await expectedLines();
    expect(lines.slice(1, -1).map((l) => l.slice(0, 36))).toEqual(expected.map((l) => l.slice(0, 36)));
    for (const index of [0, 1, 9_999, SEED_ROWS - 1]) expect(lines[index + 1]).toBe(expected[index]);

    const types = recorder.ofJob(jobId).map((e) => e.type);
    expect(types[0]).toBe(JobEvents.started.name);
    expect(types.at(-1)).toBe(JobEvents.succeeded.name);
    const progress = recorder.ofJob(jobId, JobEvents.progressed.name).map((e) => e.body.progress as number);
    // The first batch of 1,000 rows out of 20,000; later ones are throttled but only ever grow.
    expect(progress[0]).toBe(5);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
    expect(progress.every((p) => p <= 100)).toBe(true);
  });

  it('renders a PDF report and publishes report.ready with its artifact, rows and notify target', async () => {
    const jobId = randomUUID();
    const notify = { email: 'ops@example.com' };

    await service.publisher.publish(
      ReportCommands.generate,
      { format: 'pdf', dataset: 'orders', filters: { status: 'refunded' } },
      { jobId, tenant: 'acme', notify },
    );
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 60_000);
    const ready = await readyRecorder.waitForEvent(ReportEvents.ready.name, jobId);

    const result = resultOf(succeeded);
    const [{ n }] = await service.dataSource.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM report.orders WHERE status = 'refunded'`,
    );
    expect(result).toMatchObject({ rows: n, contentType: 'application/pdf' });
    expect(ready.body).toEqual({
      jobId,
      tenant: 'acme',
      artifactId: result.artifactId,
      format: 'pdf',
      rows: n,
      bytes: result.bytes,
      notify,
    });
    // Published before the job.succeeded that precedes the ack.
    expect(ready.receivedAt).toBeLessThanOrEqual(succeeded.receivedAt + 50);
    const pdf = await readAll(service.artifacts.openReader(result.artifactId));
    expect(pdf.length).toBe(result.bytes);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(await service.artifacts.get(result.artifactId)).toMatchObject({
      filename: `report-${jobId}.pdf`,
      contentType: 'application/pdf',
    });
  });

  it('never sends a report with an impossible date: the contract refuses it before it is published', async () => {
    const jobId = randomUUID();
    // The gateway answers such a submit with a 400 (its unstorable-input test); the worker's own check of
    // the day (order-filter.ts) is left for commands from elsewhere.
    await expect(
      submit(jobId, { format: 'csv', dataset: 'orders', filters: { from: '2026-02-30' } }),
    ).rejects.toThrow(/filters\.from: is not a day of the calendar/);
    expect(await artifactsOfJob(jobId)).toBe(0);
  });
});

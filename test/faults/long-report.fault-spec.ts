import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '#testing';
import { KEY, startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { printTable } from './support/ledger.js';

const CONSUMER_TIMEOUT_MS = 60_000;
/** Well under the consumer timeout: the render's delivery is handed back as a lease after this. */
const LEASE_AFTER = process.env.FAULT_LEASE_AFTER ?? '20s';
/**
 * Short tiers: before leases, a redelivery burned its 5 attempts in seconds here and failed the job while
 * the first render was still writing. Now a copy that finds the job running is leased again instead.
 */
const RETRY_TIERS = process.env.FAULT_LONG_RETRY_TIERS ?? '200ms,500ms,1s';
const FORMAT = process.env.FAULT_REPORT_FORMAT ?? 'pdf';
// A 100,000-row PDF renders in ~13 s here; a million rows take long enough to outlast the timeout.
const ROWS = Number(process.env.FAULT_REPORT_ROWS ?? 1_000_000);

interface Job {
  id: string;
  status: string;
  attempts: number;
  result?: { rows: number; bytes: number };
  error?: { code: string; message: string };
}

/**
 * Scenario 5: one report that renders for longer than the broker's `consumer_timeout` (60 s here).
 *
 * Found by this suite (2026-11-21): the transport held the `report.generate` delivery unacked for the
 * whole render (a 1M-row PDF takes ~2 min on two cores), so RabbitMQ 3.10 closed the consumer's channel
 * (406 "delivery acknowledgement on channel … timed out") and requeued the message while the render went
 * on; the redelivery found the job's lock held and threw `report_in_progress` along the retry tiers — with
 * short tiers the job ended `failed` (attempts 6) while the first render was still writing its artifact.
 *
 * Fixed by leases (libs/messaging, `LEASE_AFTER`): after 20 s here the running delivery is handed back as
 * a delayed copy and acked; a copy that comes back while the render goes on is leased again without using
 * an attempt (`StillRunningError`), and the copy left when the render ends is dropped.
 */
describe('a report longer than consumer_timeout', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({
      label: 'fault-long',
      consumerTimeoutMs: CONSUMER_TIMEOUT_MS,
      // Checked every 5 s instead of every 60 s: the render outlasts 60 s, not necessarily 120 s.
      channelTickIntervalMs: 5000,
      services: ['gateway', 'report-service'],
      env: { ORDERS_SEED_ROWS: String(ROWS), LOG_LEVEL: 'info', RETRY_TIERS, LEASE_AFTER },
      readyTimeoutMs: 240_000,
    });
  }, 300_000);

  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  it('finishes with exactly one artifact and no channel closed by the broker', async () => {
    const { stack, rabbit } = env;
    const call = async (path: string, body?: unknown) =>
      fetch(`${stack.urls.gateway}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const submitted = Date.now();
    const response = await call('/v1/reports', { format: FORMAT, dataset: 'orders' });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as Job;
    let channelsDuring = Number.POSITIVE_INFINITY;
    const job = await waitFor(
      async () => {
        channelsDuring = Math.min(channelsDuring, await rabbit.channelCount().catch(() => channelsDuring));
        const current = (await (await call(`/v1/jobs/${id}`)).json()) as Job;
        return ['succeeded', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
      },
      { timeoutMs: 8 * 60_000, intervalMs: 2000, description: `report ${id} to finish` },
    );
    const wallSeconds = (Date.now() - submitted) / 1000;
    // A render the broker orphaned (its channel closed) may still be writing: let it finish first.
    await waitFor(
      async () =>
        (
          await stack.query(`SELECT 1 FROM artifacts.artifacts WHERE job_id = $1 AND status = 'writing'`, [
            id,
          ])
        ).length === 0,
      { timeoutMs: 5 * 60_000, intervalMs: 2000, description: `no artifact of ${id} still being written` },
    ).catch(() => undefined);
    const final = (await (await call(`/v1/jobs/${id}`)).json()) as Job;

    const artifacts = await stack.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM artifacts.artifacts WHERE job_id = $1 GROUP BY status`,
      [id],
    );
    const complete = Number(artifacts.find((a) => a.status === 'complete')?.n ?? 0);
    const timeouts = rabbit
      .log()
      .split('\n')
      .filter((l) => /consumer_timeout|acknowledgement .* timed out|PRECONDITION_FAILED/i.test(l));
    const serviceLog = stack.processes.get('report-service')?.stdout ?? '';
    const channelErrors = serviceLog
      .split('\n')
      .filter((l) => /closed by the broker|PRECONDITION_FAILED|timed out|Channel .*: /i.test(l));
    const handled = serviceLog
      .split('\n')
      .filter((l) => l.includes(id) && l.includes('"outcome"'))
      .map((l) => (JSON.parse(l) as { outcome?: string; attempt?: number }).outcome);

    printTable('Scenario 5 — a report longer than consumer_timeout', [
      [
        'report',
        `${FORMAT.toUpperCase()} of all ${ROWS} orders; consumer_timeout ${CONSUMER_TIMEOUT_MS} ms (checked every 5 s); RETRY_TIERS ${RETRY_TIERS}; LEASE_AFTER ${LEASE_AFTER}`,
      ],
      ['job', `${job.status}, attempts ${job.attempts}, ${wallSeconds.toFixed(0)} s submit → terminal`],
      ['result', job.result ?? job.error ?? null],
      ['job once every render ended', `${final.status}, attempts ${final.attempts}`],
      ['artifacts of the job', artifacts.map((a) => `${a.status}: ${a.n}`).join(', ') || 'none'],
      ['deliveries handled (outcomes)', handled.join(', ') || 'none logged'],
      ['broker log: consumer timeouts', timeouts.length],
      ['report-service log: channel errors', channelErrors.length],
      ...timeouts.slice(0, 3).map((l, i): [string, string] => [`  broker line ${i + 1}`, l.slice(0, 220)]),
      ...channelErrors
        .slice(0, 3)
        .map((l, i): [string, string] => [`  service line ${i + 1}`, l.slice(0, 220)]),
    ]);

    expect(job.status).toBe('succeeded');
    expect(final).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(complete).toBe(1);
    expect(timeouts).toEqual([]);
    expect(channelErrors).toEqual([]);
  });
});

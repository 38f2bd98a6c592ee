import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '#testing';
import { KEY, startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { printTable } from './support/ledger.js';

const CONSUMER_TIMEOUT_MS = 60_000;
/** The services' default tiers: the redelivery's `report_in_progress` retries then span ~2.6 min. */
const RETRY_TIERS = process.env.FAULT_LONG_RETRY_TIERS ?? '1s,5s,30s,2m,10m';
/**
 * Known to fail (2026-11-21, see the comment on the describe): skipped unless FAULT_LONG_REPORT=1, so
 * that `npm run test:faults` stays green on what is not yet fixed, and the finding is one variable away.
 */
const ENABLED = process.env.FAULT_LONG_REPORT === '1';
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
 * FAILS today. The transport holds the `report.generate` delivery unacked for the whole render (a 1M-row
 * PDF takes ~2 min on two cores), so RabbitMQ 3.10 closes the consumer's channel (406 PRECONDITION_FAILED
 * "delivery acknowledgement on channel … timed out") and requeues the message while the first render goes
 * on. The redelivery finds the job's advisory lock held and throws `report_in_progress` (retryable), again
 * and again along the retry tiers:
 * - with the default tiers (1s,5s,30s,2m,10m) the 5th attempt came after the first render had finished and
 *   returned its artifact: `succeeded`, one artifact, but `attempts: 5` and a closed channel;
 * - with short tiers (200ms,500ms,1s) the redelivery used up its 5 attempts in seconds and the job ended
 *   `failed` (`report_in_progress`, attempts 6) while the first delivery was still writing the artifact.
 *   A render longer than the sum of the tiers does the same with the defaults.
 * Nothing short of a design change (ack early + a lease/heartbeat that re-publishes abandoned reports, or
 * RabbitMQ ≥ 3.12's per-queue consumer timeout) fixes it; meanwhile consumer_timeout must exceed the
 * longest report.
 */
(ENABLED ? describe : describe.skip)('a report longer than consumer_timeout', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({
      label: 'fault-long',
      consumerTimeoutMs: CONSUMER_TIMEOUT_MS,
      // Checked every 5 s instead of every 60 s: the render outlasts 60 s, not necessarily 120 s.
      channelTickIntervalMs: 5000,
      services: ['gateway', 'report-service'],
      env: { ORDERS_SEED_ROWS: String(ROWS), LOG_LEVEL: 'info', RETRY_TIERS },
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
    await new Promise((resolve) => setTimeout(resolve, 5000));
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
        `${FORMAT.toUpperCase()} of all ${ROWS} orders; consumer_timeout ${CONSUMER_TIMEOUT_MS} ms (checked every 5 s); RETRY_TIERS ${RETRY_TIERS}`,
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
    expect(complete).toBe(1);
    expect(timeouts).toEqual([]);
    expect(channelErrors).toEqual([]);
  });
});

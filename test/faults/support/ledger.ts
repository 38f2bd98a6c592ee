import { waitFor, type Stack } from '#testing';
import type { Outcome } from './traffic.js';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** What became of the accepted jobs, read from Postgres (the truth, not the API). */
export interface Reckoning {
  readonly accepted: number;
  /** A `202` whose job is not in gateway.jobs at all. */
  readonly missing: number;
  /** In gateway.jobs but not terminal when the wait ran out. */
  readonly notTerminal: number;
  readonly byStatus: Record<string, number>;
  /** Jobs that failed though their input should have succeeded (not a `…02`/`…04` payment). */
  readonly unexpectedFailures: number;
  /** A few of them, to tell what went wrong (`id kind status attempts error`). */
  readonly unexpectedSamples: readonly string[];
  /** Jobs started more than once (a redelivery after a crash). */
  readonly startedMoreThanOnce: number;
}

interface JobRow {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  amount: string | null;
  error: string | null;
}

/**
 * Waits until every accepted job is terminal (or `timeoutMs` runs out), then counts. A job that never
 * becomes terminal is lost as surely as one that was never stored, so both are counted.
 */
export async function reckon(
  stack: Stack,
  accepted: readonly Outcome[],
  timeoutMs: number,
): Promise<Reckoning> {
  const ids = accepted.flatMap((o) => (o.id ? [o.id] : []));
  const load = () =>
    stack.query<JobRow>(
      `SELECT id, kind, status, attempts, input->>'amount' AS amount, error::text AS error
         FROM gateway.jobs WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  let rows: JobRow[] = [];
  await waitFor(
    async () => {
      rows = await load();
      return rows.length === ids.length && rows.every((r) => TERMINAL.includes(r.status));
    },
    { timeoutMs, intervalMs: 1000, description: 'every accepted job to be terminal' },
  ).catch(() => undefined);
  rows = await load();
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const failureExpected = (r: JobRow) => r.kind === 'payment' && /0[24]$/.test(r.amount ?? '');
  const unexpected = rows.filter((r) => r.status !== 'succeeded' && !failureExpected(r));
  return {
    accepted: ids.length + accepted.filter((o) => !o.id).length,
    missing: ids.length - rows.length + accepted.filter((o) => !o.id).length,
    notTerminal: rows.filter((r) => !TERMINAL.includes(r.status)).length,
    byStatus,
    unexpectedFailures: unexpected.length,
    unexpectedSamples: unexpected
      .slice(0, 5)
      .map((r) => `${r.id} ${r.kind} ${r.status} ${r.attempts} ${r.error}`),
    startedMoreThanOnce: rows.filter(
      (r) => r.attempts > 1 && !(r.kind === 'payment' && /03$/.test(r.amount ?? '')),
    ).length,
  };
}

/** The sandbox provider's ledger against the payment jobs: a customer charged twice shows here. */
export interface ChargeCount {
  readonly paymentJobsSucceeded: number;
  readonly capturedCharges: number;
  /** Jobs with more than one captured charge (through more than one payment row). */
  readonly jobsChargedTwice: number;
  /** Captured charges no payment row of an accepted job accounts for. */
  readonly unaccountedCharges: number;
  /** Succeeded payment jobs without a captured charge. */
  readonly succeededWithoutCharge: number;
}

export async function countCharges(stack: Stack, accepted: readonly Outcome[]): Promise<ChargeCount> {
  const ids = accepted.filter((o) => o.kind === 'payment' && o.id).map((o) => o.id);
  const [row] = await stack.query<{
    succeeded: string;
    captured: string;
    twice: string;
    unaccounted: string;
    uncharged: string;
  }>(
    `WITH captures AS (
       SELECT p.job_id, c.idempotency_key
         FROM payment_sandbox.charges c
         LEFT JOIN payment.payments p ON c.idempotency_key = 'pay_' || p.id::text
        WHERE c.status = 'captured' AND c.charge_id IS NOT NULL)
     SELECT
       (SELECT count(*) FROM gateway.jobs WHERE id = ANY($1::uuid[]) AND status = 'succeeded') AS succeeded,
       (SELECT count(*) FROM captures) AS captured,
       (SELECT count(*) FROM (SELECT job_id FROM captures GROUP BY job_id HAVING count(*) > 1) t) AS twice,
       (SELECT count(*) FROM captures WHERE job_id IS NULL OR NOT job_id = ANY($1::uuid[])) AS unaccounted,
       (SELECT count(*) FROM gateway.jobs j WHERE j.id = ANY($1::uuid[]) AND j.status = 'succeeded'
           AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.job_id = j.id)) AS uncharged`,
    [ids],
  );
  return {
    paymentJobsSucceeded: Number(row?.succeeded),
    capturedCharges: Number(row?.captured),
    jobsChargedTwice: Number(row?.twice),
    unaccountedCharges: Number(row?.unaccounted),
    succeededWithoutCharge: Number(row?.uncharged),
  };
}

/** Prints a two-column table under a title (what the issue asks each scenario to show). */
export function printTable(title: string, rows: readonly (readonly [string, unknown])[]): void {
  const cells = rows.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as const);
  const width = Math.max(...cells.map(([k]) => k.length));
  process.stdout.write(
    `\n== ${title}\n${cells.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`).join('\n')}\n\n`,
  );
}

/** Everything the databases know about one job, for a failure the counts cannot explain. */
export async function explainJob(stack: Stack, id: string): Promise<string> {
  const q = async (sql: string) =>
    JSON.stringify(await stack.query(sql, [id]).catch((error: unknown) => String(error)));
  return [
    `job: ${await q(`SELECT status, attempts, last_attempt, started_events, input, error, created_at, started_at, finished_at FROM gateway.jobs WHERE id = $1`)}`,
    `dead letters: ${await q(`SELECT message_id, attempts, error, dead_reason, dead_at FROM gateway.dead_letters WHERE job_id = $1`)}`,
    `payment: ${await q(`SELECT id, status, error, created_at, updated_at FROM payment.payments WHERE job_id = $1`)}`,
    `ledger: ${await q(`SELECT c.status, c.attempts, c.created_at FROM payment_sandbox.charges c JOIN payment.payments p ON c.idempotency_key = 'pay_' || p.id::text WHERE p.job_id = $1`)}`,
    `inbox: ${await q(`SELECT * FROM payment.inbox WHERE job_id = $1`)}`,
  ].join('\n');
}

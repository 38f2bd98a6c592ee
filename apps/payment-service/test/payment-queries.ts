import type { DataSource } from 'typeorm';

export interface JobLedger {
  /** Payment rows of the job. */
  readonly payments: number;
  readonly captured: number;
  readonly status: string | undefined;
  readonly paymentId: string | undefined;
  /** The sandbox ledger's rows for the job's payment, and those that are charges. */
  readonly ledgerRows: number;
  readonly charges: number;
  readonly providerCalls: number;
}

/** What our tables and the sandbox's ledger hold for one job. */
export async function ledgerOfJob(dataSource: DataSource, jobId: string): Promise<JobLedger> {
  const [row] = await dataSource.query<
    {
      payments: number;
      captured: number;
      status: string | null;
      payment_id: string | null;
      ledger_rows: number;
      charges: number;
      provider_calls: number;
    }[]
  >(
    `SELECT count(DISTINCT p.id)::int AS payments,
            count(DISTINCT p.id) FILTER (WHERE p.status = 'captured')::int AS captured,
            min(p.status) AS status, min(p.id::text) AS payment_id,
            count(c.idempotency_key)::int AS ledger_rows,
            count(c.charge_id)::int AS charges,
            coalesce(sum(c.attempts), 0)::int AS provider_calls
       FROM payment.payments p
       LEFT JOIN payment_sandbox.charges c ON c.idempotency_key = 'pay_' || p.id
      WHERE p.job_id = $1`,
    [jobId],
  );
  return {
    payments: row!.payments,
    captured: row!.captured,
    status: row!.status ?? undefined,
    paymentId: row!.payment_id ?? undefined,
    ledgerRows: row!.ledger_rows,
    charges: row!.charges,
    providerCalls: row!.provider_calls,
  };
}

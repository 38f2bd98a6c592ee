import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import {
  CardDeclinedError,
  IdempotencyKeyReusedError,
  ProviderUnavailableError,
  type CapturedCharge,
  type ChargeRequest,
  type PaymentProvider,
  type RecordedCharge,
} from './payment-provider.js';
import { sandboxDecision } from './sandbox-rules.js';

export interface SandboxOptions {
  readonly databaseUrl: string;
  /** Added to every answer, as a real provider's round trip would be. */
  readonly latencyMs: number;
}

interface LedgerRow {
  readonly charge_id: string | null;
  readonly status: 'pending' | 'captured' | 'declined';
  readonly amount: string;
  readonly currency: string;
  readonly customer_id: string;
  readonly attempts: number;
}

const DECLINED = 'The card was declined (sandbox test amount ending in 02)';

/**
 * The built-in provider: behaves like an external one with its own storage. Its ledger
 * (`payment_sandbox.charges`) is written on its own connections in autocommit, never inside
 * payment-service's transactions, so our rollback or crash cannot undo a charge it made.
 */
export class SandboxPaymentProvider implements PaymentProvider, OnApplicationShutdown {
  private readonly logger = new Logger(SandboxPaymentProvider.name);
  private readonly pool: pg.Pool;

  constructor(private readonly options: SandboxOptions) {
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 5,
      connectionTimeoutMillis: 1000,
      idleTimeoutMillis: 30_000,
      application_name: 'payment-sandbox',
      // Like payment-service's own pool: a statement is cut off at 30 s, and an answer not back 5 s after
      // that ends its connection (a server gone silent after a failover would otherwise hold it for minutes).
      statement_timeout: 30_000,
      query_timeout: 35_000,
    });
    // An idle client whose connection the server ends (a restart, a failover, an idle timeout) is reported
    // here; with no listener the pool's 'error' would be thrown, and the process would exit with it.
    this.pool.on('error', (error) => {
      this.logger.warn(`Sandbox ledger connection lost while idle: ${error.message}`);
    });
  }

  async charge(request: ChargeRequest): Promise<CapturedCharge> {
    let answer: CapturedCharge | Error;
    try {
      answer = await this.decide(request);
    } catch (error) {
      answer = error instanceof Error ? error : new Error(String(error));
    }
    await this.latency();
    if (answer instanceof Error) throw answer;
    return answer;
  }

  async findCharge(idempotencyKey: string): Promise<RecordedCharge | undefined> {
    const { rows } = await this.pool.query<LedgerRow>(
      'SELECT * FROM payment_sandbox.charges WHERE idempotency_key = $1',
      [idempotencyKey],
    );
    await this.latency();
    const row = rows[0];
    if (row?.status === 'captured' && row.charge_id !== null)
      return { status: 'captured', chargeId: row.charge_id };
    if (row?.status === 'declined') return { status: 'declined', message: DECLINED };
    return undefined;
  }

  /**
   * After the transport's drain (beforeApplicationShutdown): Nest runs onModuleDestroy before it, and a
   * pool ended there failed the in-flight charges of a SIGTERMed service, each costing its job an attempt.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  private async decide(request: ChargeRequest): Promise<CapturedCharge> {
    const key = request.idempotencyKey;
    // Counts the call and reads what the key already has, in one statement (concurrent calls serialize here).
    const { rows } = await this.pool.query<LedgerRow>(
      `INSERT INTO payment_sandbox.charges (idempotency_key, amount, currency, customer_id)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (idempotency_key) DO UPDATE SET attempts = charges.attempts + 1
       RETURNING *`,
      [key, request.amount, request.currency, request.customerId],
    );
    const row = rows[0];
    if (!row) throw new Error(`The sandbox ledger returned no row for ${key}`);
    if (Number(row.amount) !== request.amount || row.currency !== request.currency)
      throw new IdempotencyKeyReusedError(key);
    if (row.status === 'captured' && row.charge_id !== null)
      return { status: 'captured', chargeId: row.charge_id };
    if (row.status === 'declined') throw new CardDeclinedError(key, DECLINED);

    const decision = sandboxDecision(request.amount, row.attempts);
    switch (decision) {
      case 'decline':
        await this.pool.query(
          `UPDATE payment_sandbox.charges SET status = 'declined' WHERE idempotency_key = $1 AND status = 'pending'`,
          [key],
        );
        throw new CardDeclinedError(key, DECLINED);
      case 'unavailable':
        throw new ProviderUnavailableError(key);
      case 'capture':
        return { status: 'captured', chargeId: await this.capture(key) };
    }
  }

  /** Captures once per key: a concurrent call that lost the race gets the winner's charge id. */
  private async capture(key: string): Promise<string> {
    const { rows } = await this.pool.query<{ charge_id: string }>(
      `UPDATE payment_sandbox.charges SET status = 'captured', charge_id = $2
        WHERE idempotency_key = $1 AND status = 'pending'
        RETURNING charge_id`,
      [key, `ch_${randomUUID().replaceAll('-', '')}`],
    );
    if (rows[0]) return rows[0].charge_id;
    const found = await this.pool.query<{ charge_id: string | null }>(
      `SELECT charge_id FROM payment_sandbox.charges WHERE idempotency_key = $1 AND status = 'captured'`,
      [key],
    );
    const chargeId = found.rows[0]?.charge_id;
    if (!chargeId) throw new Error(`The sandbox charge ${key} is neither pending nor captured`);
    return chargeId;
  }

  private async latency(): Promise<void> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
  }
}

import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { PaymentEvents, type ChargePayment } from '#contracts';
import { isDatabaseTimeout, isDatabaseUnavailable } from '#database';
import {
  errorCodeOf,
  errorMessageOf,
  MessagePublisher,
  PermanentError,
  replayCountMeta,
  StillRunningError,
  type JobContext,
} from '#messaging';
import {
  CardDeclinedError,
  PAYMENT_PROVIDER,
  type PaymentProvider,
  type RecordedCharge,
} from '../provider/payment-provider.js';
import {
  idempotencyKeyOf,
  paymentEventOf,
  settleJob,
  type PaymentOutcome,
  type PaymentResult,
} from './payment-outcome.js';

/** What the service needs to know about the delivery it charges for (and who to tell how it ended). */
export type ChargeJob = Pick<JobContext, 'jobId' | 'tenant' | 'messageId'> &
  Partial<Pick<JobContext, 'notify' | 'replayCount' | 'publishedAt'>>;

/**
 * How long a payment waits out a database outage before its delivery fails like any other (its attempts
 * then run through the retry tiers): a day, so that an error that only looks like an outage (a query that
 * always times out, a standby behind `DATABASE_URL`) ends in the dead letters, not in leases for ever.
 */
export const MAX_DATABASE_WAIT_MS = 24 * 3_600_000;

/**
 * The database went away (or stopped answering) while a payment was being decided: the provider may have
 * charged already, and only the database can say what was recorded. Such a delivery uses up no attempt: it is
 * handed back as a lease (a StillRunningError) and asked again once the lease is over, for as long as the
 * outage lasts. Counting attempts against an outage failed jobs whose customers had been charged.
 */
export class PaymentAwaitsDatabaseError extends StillRunningError {
  constructor(
    readonly jobId: string,
    cause: unknown,
  ) {
    super(`Payment of job ${jobId} waits for the database: ${errorMessageOf(cause)}`, 'database_unavailable');
  }
}

/**
 * A delivery of a job whose payment is on record with another charge: a dead letter replayed with an edited
 * payload. The payment stays what was recorded (the provider may have charged it, under its key); the edit
 * is refused rather than charged as the original.
 */
export class PaymentChangedError extends PermanentError {
  constructor(jobId: string, recorded: ChargeOnRecord) {
    super(
      `The payment of job ${jobId} is on record as ${recorded.amount} ${recorded.currency} to ${recorded.customer_id}; ` +
        'a replay cannot change it (submit a new payment)',
      'payment_changed',
    );
  }
}

export class MissingTenantError extends PermanentError {
  constructor(readonly jobId: string) {
    super(`Payment job ${jobId} has no tenant header`, 'missing_tenant');
  }
}

interface PaymentRow {
  readonly id: string;
  readonly amount: string;
  readonly currency: string;
  readonly customer_id: string;
  readonly description: string | null;
}

@Injectable()
export class PaymentsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(PAYMENT_PROVIDER) private readonly provider: PaymentProvider,
    @Inject(MessagePublisher) private readonly publisher: Pick<MessagePublisher, 'publish'>,
  ) {}

  /**
   * Charges the job's customer at most once, however often the job is delivered, and answers every
   * delivery the same way: the result for a capture, the decline thrown for a decline. The outcome's
   * domain event is published (confirmed) on every delivery that reaches it, so a publish that failed
   * is made good by the retry: events at least once, charges exactly once.
   */
  async chargeOnce(job: ChargeJob, cmd: ChargePayment): Promise<PaymentResult> {
    const tenant = job.tenant;
    if (tenant === undefined) throw new MissingTenantError(job.jobId);
    const outcome = await this.decideOnce(job, tenant, cmd).catch((error: unknown) => {
      const waited = job.publishedAt === undefined ? 0 : Date.now() - job.publishedAt;
      if ((isDatabaseUnavailable(error) || isDatabaseTimeout(error)) && waited < MAX_DATABASE_WAIT_MS)
        throw new PaymentAwaitsDatabaseError(job.jobId, error);
      throw error;
    });
    const event = paymentEventOf(job.jobId, tenant, outcome, job.notify);
    await this.publisher.publish(
      outcome.status === 'captured' ? PaymentEvents.succeeded : PaymentEvents.failed,
      event,
      { jobId: job.jobId, tenant, ...replayCountMeta(job.replayCount ?? 0) },
    );
    return settleJob(outcome);
  }

  /**
   * Deliveries of one job run this one at a time, under a session-level advisory lock on their own
   * connection: the lock spans the provider call without a transaction staying open across it, and a
   * crashed process's lock goes with its connection.
   */
  private async decideOnce(job: ChargeJob, tenant: string, cmd: ChargePayment): Promise<PaymentOutcome> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const lock = [`payment:${job.jobId}`];
    try {
      await runner.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', lock);
      try {
        return await this.decideLocked(runner, job, tenant, cmd);
      } finally {
        // Fails only with a broken connection, whose session (and lock) the server has ended already.
        await runner.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', lock).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  private async decideLocked(
    runner: QueryRunner,
    job: ChargeJob,
    tenant: string,
    cmd: ChargePayment,
  ): Promise<PaymentOutcome> {
    const [processed] = await rows<{ outcome: PaymentOutcome }>(
      runner,
      'SELECT outcome FROM payment.inbox WHERE job_id = $1',
      [job.jobId],
    );
    if (processed) {
      const recorded = chargeOnRecordOf(processed.outcome);
      if (!sameCharge(recorded, cmd)) throw new PaymentChangedError(job.jobId, recorded);
      return processed.outcome;
    }

    // Committed (autocommit) before the provider hears of it: whatever happens next, a later delivery
    // finds this payment and asks the provider about its key instead of starting a second charge.
    const created = await rows<{ id: string }>(
      runner,
      `INSERT INTO payment.payments (id, job_id, tenant, amount, currency, customer_id, description)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (job_id) DO NOTHING
       RETURNING id`,
      [randomUUID(), job.jobId, tenant, cmd.amount, cmd.currency, cmd.customerId, cmd.description ?? null],
    );
    const [payment] = await rows<PaymentRow>(
      runner,
      'SELECT id, amount, currency, customer_id, description FROM payment.payments WHERE job_id = $1',
      [job.jobId],
    );
    if (!payment) throw new Error(`Payment of job ${job.jobId} vanished`);
    if (created.length === 0 && !sameCharge(payment, cmd)) throw new PaymentChangedError(job.jobId, payment);
    const key = idempotencyKeyOf(payment.id);

    // A payment that existed before this delivery may have been charged by one that crashed before
    // recording it: the provider knows.
    const recorded = created.length === 0 ? await this.provider.findCharge(key) : undefined;
    const answer = recorded ?? (await this.charge(key, payment));
    const outcome = outcomeOf(payment, key, answer);
    await this.record(runner, job, outcome);
    return outcome;
  }

  /** The provider's answer; a decline is an answer, any other failure is thrown (and retried). */
  private async charge(key: string, payment: PaymentRow): Promise<RecordedCharge> {
    try {
      return await this.provider.charge({
        idempotencyKey: key,
        amount: Number(payment.amount),
        currency: payment.currency,
        customerId: payment.customer_id,
        ...(payment.description === null ? {} : { description: payment.description }),
      });
    } catch (error) {
      if (error instanceof CardDeclinedError) return { status: 'declined', message: error.message };
      throw error;
    }
  }

  /** The payment's final status and the inbox row, in one transaction. */
  private async record(runner: QueryRunner, job: ChargeJob, outcome: PaymentOutcome): Promise<void> {
    await runner.startTransaction();
    try {
      await runner.query(
        `UPDATE payment.payments
            SET status = $2, provider_charge_id = $3, error = $4, updated_at = now()
          WHERE id = $1 AND status = 'pending'`,
        [
          outcome.paymentId,
          outcome.status,
          outcome.status === 'captured' ? outcome.chargeId : null,
          outcome.status === 'declined' ? JSON.stringify(outcome.error) : null,
        ],
      );
      await runner.query('INSERT INTO payment.inbox (job_id, message_id, outcome) VALUES ($1, $2, $3)', [
        job.jobId,
        job.messageId ?? null,
        JSON.stringify(outcome),
      ]);
      await runner.commitTransaction();
    } catch (error) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  }
}

type ChargeOnRecord = Pick<PaymentRow, 'amount' | 'currency' | 'customer_id'>;

/** Whether `cmd` asks for the charge on record: the amount, the currency, the customer (not the description). */
function sameCharge(recorded: ChargeOnRecord, cmd: ChargePayment): boolean {
  return (
    Number(recorded.amount) === cmd.amount &&
    recorded.currency === cmd.currency &&
    recorded.customer_id === cmd.customerId
  );
}

function chargeOnRecordOf(outcome: PaymentOutcome): ChargeOnRecord {
  return { amount: String(outcome.amount), currency: outcome.currency, customer_id: outcome.customerId };
}

function outcomeOf(payment: PaymentRow, idempotencyKey: string, answer: RecordedCharge): PaymentOutcome {
  const base = {
    paymentId: payment.id,
    idempotencyKey,
    amount: Number(payment.amount),
    currency: payment.currency,
    customerId: payment.customer_id,
  };
  switch (answer.status) {
    case 'captured':
      return { ...base, status: 'captured', chargeId: answer.chargeId };
    case 'declined': {
      const declined = new CardDeclinedError(idempotencyKey, answer.message);
      return {
        ...base,
        status: 'declined',
        error: { message: errorMessageOf(declined), code: errorCodeOf(declined) },
      };
    }
  }
}

async function rows<T>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  return (await runner.query(sql, params, true)).records as T[];
}

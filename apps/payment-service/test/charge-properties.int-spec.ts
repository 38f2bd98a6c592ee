import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import type { ChargePayment, Contract } from '#contracts';
import { createDataSource } from '#database';
import { PermanentError, RetryableError } from '#messaging';
import { createTestDatabase, type TestDatabase } from '#testing';
import { paymentDatabaseOptions, preparePaymentDatabase } from '../src/payment-database.js';
import { PaymentsService, type ChargeJob } from '../src/payments/payments.service.js';
import {
  type CapturedCharge,
  type ChargeRequest,
  type PaymentProvider,
  type RecordedCharge,
} from '../src/provider/payment-provider.js';
import { SandboxPaymentProvider } from '../src/provider/sandbox.provider.js';
import { ledgerOfJob } from './payment-queries.js';

/** Stands for the process dying between the provider's answer and our commit. */
class SimulatedCrash extends Error {}

/** The sandbox, except that a charge call can be made to "crash" once the provider has answered. */
class CrashingProvider implements PaymentProvider {
  crashNext = false;

  constructor(private readonly sandbox: PaymentProvider) {}

  async charge(request: ChargeRequest): Promise<CapturedCharge> {
    const crash = this.crashNext;
    this.crashNext = false;
    try {
      return await this.sandbox.charge(request);
    } finally {
      // Whatever the provider answered (charge, decline, failure), we never get to record it.
      if (crash) throw new SimulatedCrash('crashed after the provider answered');
    }
  }

  findCharge(idempotencyKey: string): Promise<RecordedCharge | undefined> {
    return this.sandbox.findCharge(idempotencyKey);
  }
}

const endings = fc.oneof(fc.constantFrom(2, 3, 4), fc.integer({ min: 0, max: 99 }));
const amount = fc
  .tuple(fc.integer({ min: 0, max: 999 }), endings)
  .map(([hundreds, ending]) => Math.max(1, hundreds * 100 + ending));

const scenario = fc.array(amount, { minLength: 1, maxLength: 4 }).chain((amounts) =>
  fc.record({
    amounts: fc.constant(amounts),
    steps: fc.array(
      fc.record({
        job: fc.integer({ min: 0, max: amounts.length - 1 }),
        copies: fc.integer({ min: 1, max: 3 }),
        crash: fc.boolean(),
      }),
      { minLength: 1, maxLength: 8 },
    ),
  }),
);

describe('PaymentsService.chargeOnce over random deliveries, duplicates and crashes (real Postgres)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let sandbox: SandboxPaymentProvider;
  let provider: CrashingProvider;
  let sut: PaymentsService;
  const published: { type: string; jobId: unknown }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('payment_props');
    await preparePaymentDatabase(database.url);
    dataSource = await createDataSource(paymentDatabaseOptions(database.url)).initialize();
    sandbox = new SandboxPaymentProvider({ databaseUrl: database.url, latencyMs: 0 });
    provider = new CrashingProvider(sandbox);
    sut = new PaymentsService(dataSource, provider, {
      publish: async (contract: Contract, payload: unknown) => {
        published.push({ type: contract.name, jobId: (payload as { jobId: unknown }).jobId });
      },
    });
  });

  afterAll(async () => {
    await sandbox?.onApplicationShutdown();
    await dataSource?.destroy();
    await database?.drop();
  });

  /** One delivery as the transport would run it; how it ended, as the transport would classify it. */
  async function deliver(job: ChargeJob, cmd: ChargePayment): Promise<'captured' | 'permanent' | 'retry'> {
    try {
      await sut.chargeOnce(job, cmd);
      return 'captured';
    } catch (error) {
      if (error instanceof PermanentError) return 'permanent';
      if (error instanceof RetryableError || error instanceof SimulatedCrash) return 'retry';
      throw error;
    }
  }

  it('never has more charges than captured payments once settled, nor two captures for a job', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ amounts, steps }) => {
        const jobs = amounts.map((a) => ({
          job: { jobId: randomUUID(), tenant: 'acme', messageId: randomUUID() },
          cmd: { amount: a, currency: 'EUR', customerId: 'cus_p' },
        }));

        for (const step of steps) {
          const { job, cmd } = jobs[step.job]!;
          provider.crashNext = step.crash;
          const ends = await Promise.all(Array.from({ length: step.copies }, () => deliver(job, cmd)));
          provider.crashNext = false;
          // Mid-way, a crash may have left a charge not yet recorded, never the other way round.
          for (const { job: j } of jobs) {
            const ledger = await ledgerOfJob(dataSource, j.jobId);
            expect(ledger.payments).toBeLessThanOrEqual(1);
            expect(ledger.captured).toBeLessThanOrEqual(ledger.charges);
            expect(ledger.charges).toBeLessThanOrEqual(1);
          }
          // Every delivery of a job that reached an outcome answers the same.
          const decided = ends.filter((e) => e !== 'retry');
          expect(new Set(decided).size).toBeLessThanOrEqual(1);
        }

        // The broker redelivers until each job reaches an outcome or runs out of attempts.
        for (const { job, cmd } of jobs) {
          let attempts = 0;
          while (attempts++ < 3 && (await deliver(job, cmd)) === 'retry') {
            // another attempt, as the retry tiers would schedule it
          }
        }

        for (const { job, cmd } of jobs) {
          const ledger = await ledgerOfJob(dataSource, job.jobId);
          expect(ledger.captured).toBe(ledger.charges);
          expect(ledger.captured).toBeLessThanOrEqual(1);
          const ending = cmd.amount % 100;
          if (ending === 2) expect(ledger.status).toBe('declined');
          else if (ending === 4) expect(ledger.status).toBe('pending');
          else expect(ledger.status).toBe('captured');
          if (ledger.status === 'pending') continue;
          // Settled jobs answer a late redelivery the same way, and announce only their own outcome.
          expect(await deliver(job, cmd)).toBe(ending === 2 ? 'permanent' : 'captured');
          const announced = new Set(published.filter((e) => e.jobId === job.jobId).map((e) => e.type));
          expect(announced).toEqual(new Set([ending === 2 ? 'payment.failed' : 'payment.succeeded']));
        }
      }),
      { numRuns: 20 },
    );
  });
});

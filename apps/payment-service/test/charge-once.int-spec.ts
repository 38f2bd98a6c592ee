import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobEvents, PaymentCommands, PaymentEvents, type ChargePayment } from '#contracts';
import type { MessagePublisher } from '#messaging';
import {
  BrokerAdmin,
  createTestDatabase,
  EventRecorder,
  randomPrefix,
  waitFor,
  type TestDatabase,
} from '#testing';
import { ledgerOfJob } from './payment-queries.js';
import { startPaymentService, type RunningPaymentService } from './payment-service-harness.js';

const charge = (amount: number): ChargePayment => ({
  amount,
  currency: 'EUR',
  customerId: 'cus_42',
  description: `Order ${amount}`,
});

async function publishCopies(
  publisher: MessagePublisher,
  jobId: string,
  cmd: ChargePayment,
  copies: number,
): Promise<void> {
  // The same message (job id and message id), as a broker redelivery or a repeated outbox publish makes it.
  const messageId = randomUUID();
  await Promise.all(
    Array.from({ length: copies }, () =>
      publisher.publish(PaymentCommands.charge, cmd, { jobId, tenant: 'acme', messageId, maxAttempts: 3 }),
    ),
  );
}

describe('payment.charge exactly once (real Postgres and RabbitMQ)', () => {
  const prefix = randomPrefix('pay-once');
  let database: TestDatabase;
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let service: RunningPaymentService;

  beforeAll(async () => {
    database = await createTestDatabase('payment_once');
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, '#');
    service = await startPaymentService({ databaseUrl: database.url, prefix });
  });

  afterAll(async () => {
    await service?.app.close();
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  const succeededJob = randomUUID();
  const declinedJob = randomUUID();

  it('charges a message delivered three times once, and answers each delivery with the same payment', async () => {
    await publishCopies(service.publisher, succeededJob, charge(1999), 3);

    const results = await waitFor(
      () => {
        const events = recorder.ofJob(succeededJob, JobEvents.succeeded.name);
        return events.length === 3 && events.map((e) => e.body.result as Record<string, unknown>);
      },
      { description: 'three job.succeeded' },
    );

    const ledger = await ledgerOfJob(service.dataSource, succeededJob);
    expect(ledger).toMatchObject({ payments: 1, captured: 1, ledgerRows: 1, charges: 1, providerCalls: 1 });
    for (const result of results) {
      expect(result).toEqual({
        paymentId: ledger.paymentId,
        status: 'captured',
        amount: 1999,
        currency: 'EUR',
      });
    }
  });

  it('declines an amount ending in 02 at once: failed after one start, nothing charged', async () => {
    await publishCopies(service.publisher, declinedJob, charge(1002), 1);

    const failed = await recorder.waitForEvent(JobEvents.failed.name, declinedJob);

    expect(failed.body).toMatchObject({ attempt: 1, error: { code: 'card_declined' } });
    expect(recorder.ofJob(declinedJob, JobEvents.started.name)).toHaveLength(1);
    expect(recorder.ofJob(declinedJob, JobEvents.retrying.name)).toHaveLength(0);
    expect(await ledgerOfJob(service.dataSource, declinedJob)).toMatchObject({
      payments: 1,
      status: 'declined',
      captured: 0,
      charges: 0,
    });
  });

  it("answers a replay of a declined job from its record, and its payment.failed names the replay's run", async () => {
    const jobId = randomUUID();
    await publishCopies(service.publisher, jobId, charge(3002), 1);
    await recorder.waitForEvent(PaymentEvents.failed.name, jobId);
    await service.publisher.publish(PaymentCommands.charge, charge(3002), {
      jobId,
      tenant: 'acme',
      maxAttempts: 3,
      replayCount: 1,
    });

    const events = await waitFor(
      () => {
        const failed = recorder.ofJob(jobId, PaymentEvents.failed.name);
        return failed.length === 2 && failed;
      },
      { description: "the replay's payment.failed" },
    );
    expect(events[0]?.headers['replay-count']).toBeUndefined();
    expect(events[1]?.headers['replay-count']).toBe(1);
    expect(await ledgerOfJob(service.dataSource, jobId)).toMatchObject({ payments: 1, charges: 0 });
  });

  it('refuses a replay that would change the charge on record, charging nothing (declined, then pending)', async () => {
    // Declined (its outcome on record), then a replay edited to an amount that would capture.
    const declined = randomUUID();
    await publishCopies(service.publisher, declined, charge(5002), 1);
    await recorder.waitForEvent(JobEvents.failed.name, declined);
    // Out of attempts while the provider was away (a pending payment, no outcome), then edited the same way.
    const pending = randomUUID();
    await publishCopies(service.publisher, pending, charge(5004), 1);
    await waitFor(() => recorder.ofJob(pending, JobEvents.failed.name).length === 1, {
      description: 'exhausted',
    });

    for (const jobId of [declined, pending]) {
      await service.publisher.publish(PaymentCommands.charge, charge(5000), {
        jobId,
        tenant: 'acme',
        maxAttempts: 3,
        replayCount: 1,
      });
    }
    for (const [jobId, amount] of [
      [declined, 5002],
      [pending, 5004],
    ] as const) {
      const failed = await waitFor(() => recorder.ofJob(jobId, JobEvents.failed.name)[1], {
        description: `the edited replay of ${amount} refused`,
      });
      // Before: the replay was answered (or charged) as the payment on record, 5000 nowhere in sight.
      expect(failed.body).toMatchObject({ attempt: 1, error: { code: 'payment_changed' } });
      expect((failed.body.error as { message: string }).message).toContain(`${amount} EUR`);
      expect(await ledgerOfJob(service.dataSource, jobId)).toMatchObject({ payments: 1, charges: 0 });
    }
  });

  it('retries an amount ending in 03 through two transient failures and charges it once', async () => {
    const jobId = randomUUID();
    await publishCopies(service.publisher, jobId, charge(2503), 1);

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);

    expect(succeeded.body).toMatchObject({ attempt: 3, result: { status: 'captured', amount: 2503 } });
    expect(recorder.ofJob(jobId, JobEvents.started.name)).toHaveLength(3);
    expect(
      recorder.ofJob(jobId, JobEvents.retrying.name).map((e) => (e.body.error as { code: string }).code),
    ).toEqual(['provider_unavailable', 'provider_unavailable']);
    expect(await ledgerOfJob(service.dataSource, jobId)).toMatchObject({
      captured: 1,
      ledgerRows: 1,
      charges: 1,
      providerCalls: 3,
    });
  });

  it('fails an amount ending in 04 with provider_unavailable after three attempts, nothing charged', async () => {
    const jobId = randomUUID();
    await publishCopies(service.publisher, jobId, charge(504), 1);

    const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);

    expect(failed.body).toMatchObject({ attempt: 3, error: { code: 'provider_unavailable' } });
    expect(recorder.ofJob(jobId, JobEvents.started.name)).toHaveLength(3);
    expect(await ledgerOfJob(service.dataSource, jobId)).toMatchObject({
      status: 'pending',
      captured: 0,
      charges: 0,
      providerCalls: 3,
    });
    expect(recorder.ofJob(jobId, PaymentEvents.failed.name)).toHaveLength(0);
  });

  it('announces payment.succeeded and payment.failed with the amount, currency and customer', async () => {
    const { paymentId } = await ledgerOfJob(service.dataSource, succeededJob);
    const succeeded = recorder.ofJob(succeededJob, PaymentEvents.succeeded.name);
    // At least once: every delivery that reaches the outcome announces it.
    expect(succeeded).toHaveLength(3);
    expect(succeeded[0]!.body).toEqual({
      jobId: succeededJob,
      tenant: 'acme',
      paymentId,
      amount: 1999,
      currency: 'EUR',
      customerId: 'cus_42',
    });
    expect(succeeded[0]!.headers).toMatchObject({ 'job-id': succeededJob, tenant: 'acme' });

    const failed = await recorder.waitForEvent(PaymentEvents.failed.name, declinedJob);
    expect(failed.body).toMatchObject({
      jobId: declinedJob,
      tenant: 'acme',
      amount: 1002,
      currency: 'EUR',
      customerId: 'cus_42',
      error: { code: 'card_declined' },
    });
    expect(recorder.ofJob(declinedJob, PaymentEvents.failed.name)).toHaveLength(1);
    expect(recorder.ofJob(declinedJob, PaymentEvents.succeeded.name)).toHaveLength(0);
  });

  it("keeps charging after the server ends the sandbox ledger's idle connections (a restart, a failover)", async () => {
    const ended = await service.dataSource.query<{ pid: number }[]>(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'payment-sandbox' AND datname = current_database() AND state = 'idle'`,
    );
    expect(ended.length).toBeGreaterThan(0); // the charges above left idle clients in the pool
    await service.dataSource.query(`SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, [
      ended.map((r) => r.pid),
    ]);
    // Gone on the server, so their clients have been told (before: the pool's 'error' went unheard and took
    // the process down).
    await waitFor(
      async () =>
        (
          await service.dataSource.query<unknown[]>(
            `SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])`,
            [ended.map((r) => r.pid)],
          )
        ).length === 0,
      { timeoutMs: 5000, intervalMs: 20, description: 'the idle ledger connections ended' },
    );

    const jobId = randomUUID();
    await publishCopies(service.publisher, jobId, charge(4200), 1);
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);
    expect(succeeded.body).toMatchObject({ attempt: 1, result: { status: 'captured', amount: 4200 } });
  });

  it('fails a payment without a tenant permanently, before touching the provider', async () => {
    const jobId = randomUUID();
    await service.publisher.publish(PaymentCommands.charge, charge(700), { jobId });

    const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);

    expect(failed.body).toMatchObject({ attempt: 1, error: { code: 'missing_tenant' } });
    expect(await ledgerOfJob(service.dataSource, jobId)).toMatchObject({ payments: 0, ledgerRows: 0 });
  });
});

describe('ten payment-service instances racing on ten copies of one job', () => {
  const prefix = randomPrefix('pay-race');
  const instances: RunningPaymentService[] = [];
  let database: TestDatabase;
  let admin: BrokerAdmin;
  let recorder: EventRecorder;

  beforeAll(async () => {
    database = await createTestDatabase('payment_race');
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
    // The sandbox answers slowly, so every copy arrives while the first is still at the provider.
    for (let i = 0; i < 10; i++) {
      instances.push(
        await startPaymentService({ databaseUrl: database.url, prefix, sandboxLatency: '300ms' }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((s) => s.app.close()));
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  it('charges the customer once, records one payment, and answers every copy with it', async () => {
    const jobId = randomUUID();
    const [first] = instances;
    const deliveries = instances.map(() => 0);
    instances.forEach((instance, i) => {
      instance.transport.observe(() => {
        deliveries[i]!++;
      });
    });
    await publishCopies(first!.publisher, jobId, charge(4200), 10);

    const results = await waitFor(
      () => {
        const events = recorder.ofJob(jobId, JobEvents.succeeded.name);
        return events.length === 10 && events.map((e) => e.body.result as { paymentId: string });
      },
      { timeoutMs: 30_000, description: 'ten job.succeeded' },
    );

    const ledger = await ledgerOfJob(first!.dataSource, jobId);
    expect(ledger).toMatchObject({ payments: 1, captured: 1, ledgerRows: 1, charges: 1, providerCalls: 1 });
    expect(new Set(results.map((r) => r.paymentId))).toEqual(new Set([ledger.paymentId]));
    // The copies were spread over the instances, so the race was between independent consumers.
    expect(deliveries.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(deliveries.reduce((a, b) => a + b, 0)).toBe(10);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobEvents, PaymentCommands } from '#contracts';
import { TopologyNames } from '#messaging';
import {
  BrokerAdmin,
  createTestDatabase,
  EventRecorder,
  randomPrefix,
  TcpProxy,
  waitFor,
  type TestDatabase,
} from '#testing';
import type { PaymentProvider } from '../src/provider/payment-provider.js';
import { startPaymentService, type RunningPaymentService } from './payment-service-harness.js';

/** payment-service reaches Postgres through a proxy the test cuts: its own outage, not the shared server's. */
describe('payment.charge when Postgres goes away after the provider captured (real Postgres and RabbitMQ)', () => {
  const prefix = randomPrefix('pay-dbdown');
  let database: TestDatabase;
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let proxy: TcpProxy;
  let service: RunningPaymentService;
  let cutAfterCapture = false;

  beforeAll(async () => {
    database = await createTestDatabase('payment_dbdown');
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
    const direct = new URL(database.url);
    proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    service = await startPaymentService({
      databaseUrl: proxied.toString(),
      prefix,
      leaseAfter: '2s',
      // The provider captures; then, before payment-service can record it, its database is gone.
      wrapProvider: (sandbox: PaymentProvider): PaymentProvider => ({
        findCharge: (key) => sandbox.findCharge(key),
        charge: async (request) => {
          const captured = await sandbox.charge(request);
          if (cutAfterCapture) await proxy.cut();
          return captured;
        },
      }),
    });
  });

  afterAll(async () => {
    await proxy?.restore();
    await service?.app.close();
    await recorder?.close();
    await proxy?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  it('waits the outage out without using attempts, then records the capture: the job succeeds, charged once', async () => {
    const jobId = randomUUID();
    cutAfterCapture = true;
    await service.publisher.publish(
      PaymentCommands.charge,
      { amount: 2599, currency: 'EUR', customerId: 'cus_7', description: 'Outage' },
      { jobId, tenant: 'acme', maxAttempts: 3 },
    );
    await recorder.waitForEvent(JobEvents.started.name, jobId);
    // The delivery met the outage and was handed back: its copy waits out the lease (2 s here), longer than
    // the three attempts' retry tiers (200 ms, 400 ms) would have taken.
    const names = new TopologyNames(prefix);
    const leases = names.waitQueue(names.workQueue('payment-service', PaymentCommands.charge.name), 2000);
    await waitFor(async () => ((await admin.queue(leases))?.ready ?? 0) === 1, {
      timeoutMs: 10_000,
      intervalMs: 50,
      description: 'the delivery handed back as a lease',
    });
    cutAfterCapture = false;
    await proxy.restore();

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 20_000);
    // Before: attempts 2 and 3 failed on the missing database, and the job failed with its customer charged.
    expect(succeeded.body).toMatchObject({ attempt: 1, result: { status: 'captured', amount: 2599 } });
    expect(recorder.ofJob(jobId, JobEvents.failed.name)).toHaveLength(0);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);
    const [ledger] = await database.query<{ charges: number; status: string }>(
      `SELECT (SELECT count(*)::int FROM payment_sandbox.charges c
                WHERE c.idempotency_key = 'pay_' || p.id AND c.status = 'captured') AS charges, p.status
         FROM payment.payments p WHERE p.job_id = $1`,
      [jobId],
    );
    expect(ledger).toEqual({ charges: 1, status: 'captured' });
  });
});

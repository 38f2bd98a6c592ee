import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { JobEvents, PaymentCommands, PaymentEvents } from '#contracts';
import { createDataSource } from '#database';
import { buildEnvelope, TopologyNames } from '#messaging';
import {
  BrokerAdmin,
  ChildService,
  createTestDatabase,
  EventRecorder,
  randomPrefix,
  TEST_RABBITMQ_URL,
  type TestDatabase,
} from '#testing';
import { paymentDatabaseOptions, preparePaymentDatabase } from '../src/payment-database.js';
import { ledgerOfJob } from './payment-queries.js';

const worker = fileURLToPath(new URL('./fixtures/payment-worker.ts', import.meta.url));

describe('a payment worker killed after the provider charged, before it recorded the charge', () => {
  const prefix = randomPrefix('pay-crash');
  const names = new TopologyNames(prefix);
  const children: ChildService[] = [];
  let database: TestDatabase;
  let dataSource: DataSource;
  let admin: BrokerAdmin;
  let recorder: EventRecorder;

  const startWorker = async (env: Record<string, string> = {}): Promise<ChildService> => {
    const child = ChildService.typescript(worker, {
      CONVEYOR_PREFIX: prefix,
      RABBITMQ_URL: TEST_RABBITMQ_URL,
      DATABASE_URL: database.url,
      ...env,
    });
    children.push(child);
    await child.waitForOutput(/^attached$/m, 30_000);
    return child;
  };

  beforeAll(async () => {
    database = await createTestDatabase('payment_crash');
    await preparePaymentDatabase(database.url);
    dataSource = await createDataSource(paymentDatabaseOptions(database.url)).initialize();
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, '#');
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await dataSource?.destroy();
    await database?.drop();
  });

  it('finds the charge at the provider on redelivery and records it: one charge, one captured payment', async () => {
    const doomed = await startWorker({ CRASH_AFTER_PROVIDER_CHARGE: '1' });
    const jobId = randomUUID();
    const { content, properties } = buildEnvelope(
      PaymentCommands.charge,
      { amount: 1999, currency: 'EUR', customerId: 'cus_7' },
      { jobId, tenant: 'acme', maxAttempts: 3 },
      'test',
    );
    await admin.publish(names.commands, PaymentCommands.charge.name, content, properties);

    await doomed.waitForOutput(/^charged pay_/m);
    // Killed once its start is out (a start leaves with the next lifecycle batch, within a few ms).
    await recorder.waitForEvent(JobEvents.started.name, jobId);
    doomed.kill('SIGKILL');
    expect(await doomed.exited).toMatchObject({ signal: 'SIGKILL' });
    // The provider charged; we had only the pending payment committed.
    expect(await ledgerOfJob(dataSource, jobId)).toMatchObject({
      payments: 1,
      status: 'pending',
      charges: 1,
      providerCalls: 1,
    });
    expect(recorder.ofJob(jobId, JobEvents.succeeded.name)).toHaveLength(0);

    await startWorker();
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 30_000);

    const ledger = await ledgerOfJob(dataSource, jobId);
    // Asked, not charged again: the provider saw one charge call for the key.
    expect(ledger).toMatchObject({ payments: 1, captured: 1, ledgerRows: 1, charges: 1, providerCalls: 1 });
    expect(succeeded.body.result).toEqual({
      paymentId: ledger.paymentId,
      status: 'captured',
      amount: 1999,
      currency: 'EUR',
    });
    expect(recorder.ofJob(jobId, JobEvents.started.name)).toHaveLength(2);
    expect(recorder.ofJob(jobId, PaymentEvents.succeeded.name)).toHaveLength(1);
  });
});

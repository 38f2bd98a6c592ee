import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BrokerAdmin, createTestDatabase, randomPrefix, waitFor, type TestDatabase } from '#testing';
import { startTestWorker, type TestWorker } from '../../../libs/messaging/test/worker-harness.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

interface Job {
  id: string;
  status: string;
  attempts: number;
  runAt?: string;
  input: Record<string, unknown>;
}

describe('gateway: delayed jobs (runAt)', () => {
  const prefix = randomPrefix('delay');
  let database: TestDatabase;
  let gateway: TestGateway;
  let worker: TestWorker;

  beforeAll(async () => {
    database = await createTestDatabase('delayed');
    gateway = await startTestGateway({ prefix, databaseUrl: database.url });
    worker = await startTestWorker(prefix);
  });

  afterAll(async () => {
    await worker?.app.close();
    await gateway?.app.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  const submit = async (body: unknown) => gateway.request('/v1/echo', { key: 'acme-key', body });
  const job = async (id: string) =>
    (await gateway.request(`/v1/jobs/${id}`, { key: 'acme-key' })).body as Job;

  it('stays scheduled until runAt, then runs once', async () => {
    const due = new Date(Date.now() + 2500);
    // Given with an offset; echoed back in UTC.
    const withOffset = new Date(due.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    const { status, body } = await submit({ message: 'later', runAt: withOffset });
    expect(status).toBe(202);
    const submitted = body as Job;
    expect(submitted).toMatchObject({ status: 'scheduled', runAt: due.toISOString() });
    expect(submitted.input.runAt).toBe(due.toISOString());

    await waitFor(async () => (await job(submitted.id)).status === 'succeeded', {
      timeoutMs: 10_000,
      description: 'the delayed job to run',
    });
    const deliveries = worker.script.deliveriesOf(submitted.id);
    expect(deliveries).toHaveLength(1);
    // AMQP timestamps and the relay's one-second tick make this coarse, but never early.
    expect(deliveries[0]?.at).toBeGreaterThanOrEqual(due.getTime());
    expect(await job(submitted.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('runs a job whose runAt has already passed at once', async () => {
    const { body } = await submit({ message: 'overdue', runAt: '2020-01-01T00:00:00Z' });
    expect(body).toMatchObject({ status: 'queued', runAt: '2020-01-01T00:00:00.000Z' });
    await waitFor(async () => (await job((body as Job).id)).status === 'succeeded', {
      description: 'the job to run',
    });
  });

  it('rejects a runAt that is not an ISO time with a zone', async () => {
    for (const runAt of ['tomorrow', '2026-11-21T10:00:00', 1_700_000_000]) {
      expect((await submit({ message: 'x', runAt })).status).toBe(400);
    }
  });
});

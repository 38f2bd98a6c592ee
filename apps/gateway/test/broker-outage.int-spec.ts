import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BrokerAdmin,
  createTestDatabase,
  randomPrefix,
  TcpProxy,
  TEST_RABBITMQ_URL,
  waitFor,
  type TestDatabase,
} from '#testing';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

describe('gateway: RabbitMQ out of reach', () => {
  const prefix = randomPrefix('brokerdown');
  let database: TestDatabase;
  let proxy: TcpProxy;
  let gateway: TestGateway;

  beforeAll(async () => {
    database = await createTestDatabase('brokerdown');
    const broker = new URL(TEST_RABBITMQ_URL);
    proxy = await TcpProxy.start({ host: broker.hostname, port: Number(broker.port || 5672) });
    broker.host = `127.0.0.1:${proxy.port}`;
    gateway = await startTestGateway({
      prefix,
      databaseUrl: database.url,
      config: { RABBITMQ_URL: broker.toString() },
    });
    await waitFor(async () => (await gateway.request('/health/ready')).status === 200, {
      description: 'gateway ready',
    });
  });

  afterAll(async () => {
    await proxy?.restore();
    await gateway?.app.close();
    await proxy?.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  const queues = () => gateway.request('/v1/admin/queues', { key: 'ops-key' });

  it('answers GET /v1/admin/queues with 503, not an empty list, and still accepts jobs (the outbox keeps them)', async () => {
    const before = await queues();
    expect(before.status).toBe(200);
    expect((before.body as unknown[]).length).toBeGreaterThan(0);

    await proxy.cut();
    await waitFor(async () => (await gateway.request('/health/ready')).status === 503, {
      description: 'the gateway to see the broker gone',
    });
    const notReady = await gateway.request('/health/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('retry-after')).toBe('5');
    const during = await queues();
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('5');
    const submitted = await gateway.request('/v1/echo', { key: 'acme-key', body: { message: 'kept' } });
    expect(submitted.status).toBe(202);

    await proxy.restore();
    await waitFor(async () => (await queues()).status === 200, {
      timeoutMs: 30_000,
      description: 'queues readable again',
    });
  });
});

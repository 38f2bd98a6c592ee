import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { startTracing, stopTracing } from '#observability';
import { BrokerAdmin, createTestDatabase, randomPrefix, waitFor, type TestDatabase } from '#testing';
import { startTestWorker, type TestWorker } from '../../../libs/messaging/test/worker-harness.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

/** With a tracer provider registered, one trace runs from the client through gateway → worker → gateway. */
describe('tracing', () => {
  const prefix = randomPrefix('trace');
  const exporter = new InMemorySpanExporter();
  let database: TestDatabase;
  let gateway: TestGateway;
  let worker: TestWorker;

  beforeAll(async () => {
    await startTracing('test', exporter);
    database = await createTestDatabase('tracing');
    gateway = await startTestGateway({ prefix, databaseUrl: database.url });
    worker = await startTestWorker(prefix);
  });

  afterAll(async () => {
    await worker?.app.close();
    await gateway?.app.close();
    await stopTracing();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  it('links the HTTP request, the worker and the gateway applying the outcome into the client trace', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const clientSpan = 'b7ad6b7169203331';
    const { status, body } = await gateway.request('/v1/echo', {
      key: 'acme-key',
      body: { message: 'trace me' },
      headers: { traceparent: `00-${traceId}-${clientSpan}-01` },
    });
    expect(status).toBe(202);
    const { id } = body as { id: string };
    await waitFor(
      async () =>
        ((await gateway.request(`/v1/jobs/${id}`, { key: 'acme-key' })).body as { status: string }).status ===
        'succeeded',
      { description: 'the job succeeded' },
    );

    const spans = (): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const named = (name: string) => spans().find((s) => s.name === name);
    await waitFor(() => named('process job.succeeded'), {
      description: 'the gateway span for job.succeeded',
    });

    const request = named('POST /v1/echo');
    const work = named('process echo.run');
    const applied = named('process job.succeeded');
    expect(request?.parentSpanContext?.spanId).toBe(clientSpan);
    expect(work?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(work?.attributes['conveyor.job_id']).toBe(id);
    expect(applied?.parentSpanContext?.spanId).toBe(work?.spanContext().spanId);
  });
});

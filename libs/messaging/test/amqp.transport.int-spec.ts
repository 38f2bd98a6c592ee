import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { EchoCommands, JobEvents } from '#contracts';
import {
  buildEnvelope,
  encodePack,
  Header,
  PermanentError,
  PublishFailedError,
  UnroutableMessageError,
} from '#messaging';
import { BrokerAdmin, EventRecorder, randomPrefix, waitFor } from '#testing';
import { echo, startTestWorker, TEST_TIERS, type TestWorker } from './worker-harness.js';

describe('AmqpTransport against the real broker', () => {
  const prefix = randomPrefix('transport');
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let worker: TestWorker;

  beforeAll(async () => {
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
    worker = await startTestWorker(prefix);
  });

  afterAll(async () => {
    await worker?.app.close();
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
  });

  async function submit(jobId: string, message = 'hello'): Promise<void> {
    await worker.publisher.publish(EchoCommands.run, echo(message), { jobId, tenant: 'acme' });
  }

  async function queueIsEmpty(name: string): Promise<boolean> {
    const stats = await admin.queue(name);
    return stats !== undefined && stats.ready === 0 && stats.unacked === 0;
  }

  it('acks a message only after its handler returned, and publishes the result', async () => {
    const jobId = randomUUID();
    let release: (value: unknown) => void = () => undefined;
    worker.script.behaviours.set(jobId, () => new Promise((resolve) => (release = resolve)));

    await submit(jobId);
    await recorder.waitForEvent(JobEvents.started.name, jobId);
    await waitFor(async () => (await admin.queue(worker.queue))?.unacked === 1, {
      description: 'the delivery held unacked',
    });
    expect(recorder.ofJob(jobId, JobEvents.succeeded.name)).toHaveLength(0);

    release({ rows: 42 });
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);
    expect(succeeded.body).toMatchObject({ jobId, attempt: 1, result: { rows: 42 } });
    await waitFor(() => queueIsEmpty(worker.queue), { description: 'the work queue to be empty and acked' });
  });

  it('retries a failing handler through the tier queues, attempt by attempt, waiting each tier', async () => {
    const jobId = randomUUID();
    worker.script.behaviours.set(jobId, (job) => {
      if (job.attempt < 3) throw new Error(`flaky on attempt ${job.attempt}`);
      return { ok: true };
    });

    await submit(jobId);
    await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 20_000);

    const deliveries = worker.script.deliveriesOf(jobId);
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    const [first, second, third] = deliveries.map((d) => d.at) as [number, number, number];
    // Tier 1 is 1 s, tier 2 is 2 s; quorum TTL expiry is not to the millisecond, so allow slack upward.
    expect(second - first).toBeGreaterThanOrEqual(TEST_TIERS[0]! - 50);
    expect(second - first).toBeLessThan(TEST_TIERS[0]! + 1500);
    expect(third - second).toBeGreaterThanOrEqual(TEST_TIERS[1]! - 50);
    expect(third - second).toBeLessThan(TEST_TIERS[1]! + 1500);

    const retrying = recorder.ofJob(jobId, JobEvents.retrying.name).map((e) => e.body);
    expect(retrying).toMatchObject([
      { attempt: 1, error: { message: 'flaky on attempt 1', code: 'internal_error' } },
      { attempt: 2, error: { message: 'flaky on attempt 2' } },
    ]);
    expect(recorder.ofJob(jobId, JobEvents.started.name).map((e) => e.body.attempt)).toEqual([1, 2, 3]);
  });

  it('dead-letters a permanent error at once, with the error in its headers', async () => {
    const jobId = randomUUID();
    worker.script.behaviours.set(jobId, () => {
      throw new PermanentError('Card declined by issuer', 'card_declined');
    });

    await submit(jobId, 'pay me');
    const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);
    expect(failed.body).toMatchObject({
      attempt: 1,
      error: { code: 'card_declined', message: 'Card declined by issuer' },
    });

    const dead = await waitFor(() => admin.get(worker.names.deadLetterQueue(worker.queue)), {
      description: 'the DLQ message',
    });
    expect(JSON.parse(dead.content.toString())).toEqual(echo('pay me'));
    expect(dead.properties.correlationId).toBe(jobId);
    expect(dead.properties.headers).toMatchObject({
      [Header.jobId]: jobId,
      [Header.attempt]: 1,
      [Header.errorCode]: 'card_declined',
      [Header.errorMessage]: 'Card declined by issuer',
      [Header.deadReason]: 'permanent',
      [Header.failedBy]: expect.stringContaining('report-service@'),
    });
    expect(worker.script.deliveriesOf(jobId)).toHaveLength(1);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);
  });

  it('fails for good a job whose result is not JSON, running its handler once (not requeued over and over)', async () => {
    const jobId = randomUUID();
    worker.script.behaviours.set(jobId, () => ({ total: 10n }));

    await submit(jobId);
    const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);
    expect(failed.body).toMatchObject({ attempt: 1, error: { code: 'invalid_result' } });
    const dead = await waitFor(() => admin.get(worker.names.deadLetterQueue(worker.queue)), {
      description: 'the DLQ message',
    });
    expect(dead.properties.headers).toMatchObject({
      [Header.jobId]: jobId,
      [Header.errorCode]: 'invalid_result',
    });
    expect(worker.script.deliveriesOf(jobId)).toHaveLength(1);
  });

  it('dead-letters a message whose attempts ran out, and delivers it no more', async () => {
    const jobId = randomUUID();
    worker.script.behaviours.set(jobId, () => {
      throw new Error('still broken');
    });

    await submit(jobId);
    await recorder.waitForEvent(JobEvents.failed.name, jobId, 20_000);

    const dead = await waitFor(() => admin.get(worker.names.deadLetterQueue(worker.queue)), {
      description: 'the DLQ message',
    });
    expect(dead.properties.headers).toMatchObject({
      [Header.attempt]: 3,
      [Header.maxAttempts]: 3,
      [Header.deadReason]: 'exhausted',
      [Header.errorMessage]: 'still broken',
    });
    expect(worker.script.deliveriesOf(jobId).map((d) => d.attempt)).toEqual([1, 2, 3]);
    // Nothing of it is left anywhere it could be delivered from.
    for (const queue of [worker.queue, ...TEST_TIERS.map((t) => worker.names.waitQueue(worker.queue, t))]) {
      await waitFor(() => queueIsEmpty(queue), { description: `${queue} to be empty` });
    }
    expect(worker.script.deliveriesOf(jobId)).toHaveLength(3);
  });

  it('sends malformed and invalid bodies to the DLQ and keeps consuming', async () => {
    const notJson = randomUUID();
    const wrongSchema = randomUUID();
    const good = randomUUID();
    const publishRawCommand = (jobId: string, body: string) =>
      admin.publish(worker.names.commands, EchoCommands.run.name, Buffer.from(body), {
        type: EchoCommands.run.name,
        messageId: randomUUID(),
        headers: { [Header.jobId]: jobId, [Header.attempt]: 1 },
      });

    await publishRawCommand(notJson, '{"message": "unterminated');
    await publishRawCommand(
      wrongSchema,
      JSON.stringify({ message: 5, __proto__: { admin: true }, extra: 1 }),
    );
    await submit(good);

    await recorder.waitForEvent(JobEvents.succeeded.name, good);
    const codes = await Promise.all(
      [notJson, wrongSchema].map(
        async (id) => (await recorder.waitForEvent(JobEvents.failed.name, id)).body.error,
      ),
    );
    expect(codes).toMatchObject([{ code: 'malformed_message' }, { code: 'invalid_payload' }]);
    expect(worker.script.deliveriesOf(notJson)).toHaveLength(0);
    expect(worker.script.deliveriesOf(wrongSchema)).toHaveLength(0);

    const dlq = worker.names.deadLetterQueue(worker.queue);
    const first = await waitFor(() => admin.get(dlq), { description: 'first poison message in the DLQ' });
    const second = await waitFor(() => admin.get(dlq), { description: 'second poison message in the DLQ' });
    expect([first, second].map((m) => String(m.properties.headers?.[Header.deadReason]))).toEqual([
      'invalid',
      'invalid',
    ]);
    expect(worker.transport.consumersAttached).toBe(true);
  });

  it('packs the packable commands published in one turn into one message, and runs every one of them', async () => {
    const jobIds = Array.from({ length: 5 }, () => randomUUID());
    const publishRaw = jest.spyOn(worker.publisher, 'publishRaw');
    try {
      await Promise.all(jobIds.map((id) => submit(id, `packed ${id}`)));
      expect(publishRaw).toHaveBeenCalledTimes(1);
      expect(publishRaw.mock.calls[0]?.[0].properties.headers).toMatchObject({ [Header.pack]: 5 });
    } finally {
      publishRaw.mockRestore();
    }
    for (const id of jobIds) {
      const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, id);
      expect(succeeded.body).toMatchObject({ jobId: id, attempt: 1 });
      expect(worker.script.deliveriesOf(id)).toHaveLength(1);
    }
    await waitFor(() => queueIsEmpty(worker.queue), { description: 'the pack acked' });
  });

  it('retries, dead-letters and succeeds the commands of one pack each on its own', async () => {
    const [ok, flaky, doomed, invalid] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()] as const;
    worker.script.behaviours.set(flaky, (job) => {
      if (job.attempt < 2) throw new Error('flaky once');
      return { ok: true };
    });
    worker.script.behaviours.set(doomed, () => {
      throw new PermanentError('Declined', 'declined');
    });
    const command = (jobId: string, payload: unknown) =>
      buildEnvelope(EchoCommands.run, payload, { jobId, tenant: 'acme' }, 'test');
    const pack = encodePack(
      EchoCommands.run,
      [
        command(ok, echo('ok')),
        command(flaky, echo('flaky')),
        command(doomed, echo('doomed')),
        command(invalid, { message: 5 }),
      ],
      'test',
    );
    await admin.publish(worker.names.commands, EchoCommands.run.name, pack.content, pack.properties);

    await recorder.waitForEvent(JobEvents.succeeded.name, ok);
    await recorder.waitForEvent(JobEvents.succeeded.name, flaky, 20_000);
    expect(worker.script.deliveriesOf(flaky).map((d) => d.attempt)).toEqual([1, 2]);
    expect((await recorder.waitForEvent(JobEvents.failed.name, doomed)).body.error).toMatchObject({
      code: 'declined',
    });
    expect((await recorder.waitForEvent(JobEvents.failed.name, invalid)).body.error).toMatchObject({
      code: 'invalid_payload',
    });
    expect(worker.script.deliveriesOf(ok)).toHaveLength(1);

    // Each dead letter is that one command as a message of its own, not the pack.
    const dlq = worker.names.deadLetterQueue(worker.queue);
    const dead = [
      await waitFor(() => admin.get(dlq), { description: 'a dead letter' }),
      await waitFor(() => admin.get(dlq), { description: 'another dead letter' }),
    ];
    const byJob = new Map(dead.map((m) => [m.properties.headers?.[Header.jobId], m]));
    expect(JSON.parse(byJob.get(doomed)?.content.toString() ?? '')).toEqual(echo('doomed'));
    expect(JSON.parse(byJob.get(invalid)?.content.toString() ?? '')).toEqual({ message: 5 });
    expect(byJob.get(invalid)?.properties.headers?.[Header.pack]).toBeUndefined();
    await waitFor(() => queueIsEmpty(worker.queue), { description: 'the pack acked' });
    await waitFor(async () => (await admin.queue(dlq))?.ready === 0, { description: 'the DLQ read' });
  });

  it('dead-letters a malformed pack whole and keeps consuming', async () => {
    const good = randomUUID();
    await admin.publish(worker.names.commands, EchoCommands.run.name, Buffer.from('[{"p": 1}]'), {
      type: EchoCommands.run.name,
      messageId: randomUUID(),
      headers: { [Header.pack]: 1 },
    });
    await submit(good);
    await recorder.waitForEvent(JobEvents.succeeded.name, good);
    const dead = await waitFor(() => admin.get(worker.names.deadLetterQueue(worker.queue)), {
      description: 'the malformed pack in the DLQ',
    });
    expect(dead.content.toString()).toBe('[{"p": 1}]');
    expect(dead.properties.headers?.[Header.deadReason]).toBe('invalid');
    // Why, as the DLQ tells an operator: the pack itself, not a missing job id (a pack's outer message has none).
    expect(dead.properties.headers?.[Header.errorCode]).toBe('malformed_message');
    expect(dead.properties.headers?.[Header.errorMessage]).toBe('Pack command 0 is malformed');
    await waitFor(() => queueIsEmpty(worker.queue), { description: 'the work queue settled' });
  });

  it('catches an unroutable publish: a mandatory one rejects, a stray command lands in the unrouted queue', async () => {
    const { content, properties } = buildEnvelope(
      EchoCommands.run,
      echo('lost?'),
      { jobId: randomUUID() },
      'test',
    );
    await expect(
      worker.publisher.publishRaw({
        exchange: worker.names.retry,
        routingKey: 'nobody.binds.this',
        content,
        properties,
        mandatory: true,
      }),
    ).rejects.toBeInstanceOf(UnroutableMessageError);

    await worker.publisher.publishRaw({
      exchange: worker.names.commands,
      routingKey: 'report.nobody-consumes',
      content,
      properties,
    });
    const caught = await waitFor(() => admin.get(worker.names.unrouted), {
      description: 'the stray command',
    });
    expect(caught.fields.routingKey).toBe('report.nobody-consumes');
    expect(caught.properties.messageId).toBe(properties.messageId);
  });

  it('resumes publishing and consuming after the broker drops its connection, losing nothing', async () => {
    const before = Array.from({ length: 20 }, () => randomUUID());
    const after = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(before.map((id) => submit(id)));

    const dropped = await admin.closeConnections(prefix);
    expect(dropped).toBeGreaterThanOrEqual(1);
    // Publishes made while the connection is down are held and confirmed after the reconnect.
    await Promise.all(after.map((id) => submit(id)));

    for (const id of [...before, ...after]) await recorder.waitForEvent(JobEvents.succeeded.name, id, 30_000);
    await waitFor(() => worker.transport.consumersAttached, { description: 'consumers re-attached' });
    await waitFor(() => queueIsEmpty(worker.queue), { description: 'nothing left unacked' });
  });

  it('re-declares and re-consumes when its queue is deleted under it', async () => {
    await admin.deleteQueue(worker.queue);
    const jobId = randomUUID();
    await waitFor(async () => (await admin.queue(worker.queue))?.consumers === 1, {
      description: 'the queue declared again with our consumer on it',
    });
    await submit(jobId);
    await recorder.waitForEvent(JobEvents.succeeded.name, jobId);
  });

  it('re-opens a channel the broker closed while the connection stayed up', async () => {
    // Publishing to a deleted exchange makes the broker close the publisher's channel (404). The caller
    // sees that publish fail; the channel comes back, declares the exchange again, and the next one lands.
    await admin.deleteExchange(worker.names.events);
    const started = { jobId: randomUUID(), attempt: 1, at: new Date().toISOString() };
    await expect(worker.publisher.publish(JobEvents.started, started)).rejects.toBeInstanceOf(
      PublishFailedError,
    );
    await waitFor(() => worker.publisher.publish(JobEvents.started, started).then(() => true), {
      description: 'a publish confirmed on the re-opened channel',
    });

    // The channel came back and declared the exchange again; the next job flows end to end.
    const next = randomUUID();
    await submit(next);
    await waitFor(() => worker.script.deliveriesOf(next).length === 1, {
      description: 'the next job handled',
    });
    expect(worker.transport.consumersAttached).toBe(true);
  });
});

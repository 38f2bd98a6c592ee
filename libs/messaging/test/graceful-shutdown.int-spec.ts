import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EchoCommands, JobEvents } from '#contracts';
import { buildEnvelope, encodePack } from '#messaging';
import { BrokerAdmin, EventRecorder, randomPrefix, waitFor } from '#testing';
import { echo, startTestWorker } from './worker-harness.js';

describe('AmqpTransport shutdown', () => {
  const prefix = randomPrefix('drain');
  let admin: BrokerAdmin;
  let recorder: EventRecorder;

  beforeAll(async () => {
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
  });

  afterAll(async () => {
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
  });

  it('stops consuming, lets the in-flight handler finish and ack, then closes', async () => {
    const worker = await startTestWorker(prefix, 10_000);
    const inFlight = randomUUID();
    const queued = randomUUID();
    let release: (value: unknown) => void = () => undefined;
    worker.script.behaviours.set(inFlight, () => new Promise((resolve) => (release = resolve)));
    await worker.publisher.publish(EchoCommands.run, echo('in flight'), { jobId: inFlight });
    await recorder.waitForEvent(JobEvents.started.name, inFlight);

    const closing = worker.app.close();
    await waitFor(() => worker.transport.isDraining, { description: 'draining to begin' });
    expect(worker.transport.consumersAttached).toBe(false);
    // Published after consumers were cancelled: must wait in the queue for the next worker, untouched.
    const other = await startTestWorkerPublisherOnly(prefix);
    await other.publisher.publish(EchoCommands.run, echo('queued'), { jobId: queued });

    release({ finished: true });
    await closing;
    await recorder.waitForEvent(JobEvents.succeeded.name, inFlight);
    expect(worker.script.deliveriesOf(queued)).toHaveLength(0);

    const stats = await waitFor(
      async () => {
        const q = await admin.queue(worker.queue);
        return q && q.ready === 1 && q.unacked === 0 ? q : undefined;
      },
      { description: 'the in-flight message acked and the queued one still waiting' },
    );
    expect(stats.consumers).toBe(0);
    await other.app.close();
  });

  it('past its grace, aborts the handler and leaves the message to be redelivered, not lost', async () => {
    const impatient = await startTestWorker(prefix, 300);
    const jobId = randomUUID();
    impatient.script.behaviours.set(
      jobId,
      (job) =>
        new Promise((_, reject) => {
          job.signal.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        }),
    );
    // The queue still holds the 'queued' job from the previous test; this worker handles that one first.
    await impatient.publisher.publish(EchoCommands.run, echo('too slow'), { jobId });
    await recorder.waitForEvent(JobEvents.started.name, jobId);
    await impatient.app.close();
    expect(recorder.ofJob(jobId, JobEvents.failed.name)).toHaveLength(0);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);

    const successor = await startTestWorker(prefix);
    await recorder.waitForEvent(JobEvents.succeeded.name, jobId);
    expect(successor.script.deliveriesOf(jobId)).toMatchObject([{ attempt: 1, redelivered: true }]);
    await successor.app.close();
  });

  it('past its grace, puts back only the aborted command of a pack: the finished and retried ones do not run again', async () => {
    const impatient = await startTestWorker(prefix, 300);
    const [done, flaky, slow] = [randomUUID(), randomUUID(), randomUUID()] as const;
    impatient.script.behaviours.set(flaky, (job) => {
      if (job.attempt < 2) throw new Error('flaky once');
      return { ok: true };
    });
    impatient.script.behaviours.set(
      slow,
      (job) =>
        new Promise((_, reject) => {
          job.signal.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        }),
    );
    const command = (jobId: string) => buildEnvelope(EchoCommands.run, echo(jobId), { jobId }, 'test');
    const pack = encodePack(EchoCommands.run, [command(done), command(flaky), command(slow)], 'test');
    await admin.publish(impatient.names.commands, EchoCommands.run.name, pack.content, pack.properties);
    await recorder.waitForEvent(JobEvents.succeeded.name, done);
    await recorder.waitForEvent(JobEvents.retrying.name, flaky);
    await recorder.waitForEvent(JobEvents.started.name, slow);

    await impatient.app.close();

    const successor = await startTestWorker(prefix);
    try {
      await recorder.waitForEvent(JobEvents.succeeded.name, slow);
      await recorder.waitForEvent(JobEvents.succeeded.name, flaky, 20_000);
      // Before: the whole pack went back, so `done` ran again and `flaky` ran at attempt 1 beside its retry copy.
      expect(successor.script.deliveriesOf(done)).toHaveLength(0);
      expect(successor.script.deliveriesOf(flaky).map((d) => d.attempt)).toEqual([2]);
      expect(successor.script.deliveriesOf(slow)).toMatchObject([{ attempt: 1 }]);
      await waitFor(
        async () => {
          const q = await admin.queue(successor.queue);
          return q?.ready === 0 && q.unacked === 0;
        },
        { description: 'the work queue empty and acked' },
      );
    } finally {
      await successor.app.close();
    }
  });
});

/** A second app on the same prefix whose handler never runs (we only use its publisher). */
async function startTestWorkerPublisherOnly(prefix: string) {
  const worker = await startTestWorker(prefix);
  await worker.transport.drain();
  return worker;
}

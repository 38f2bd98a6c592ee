import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ControlEvents, EchoCommands, JobEvents, NotifyEvents } from '#contracts';
import { BrokerAdmin, EventRecorder, randomPrefix, waitFor } from '#testing';
import { echo, startTestWorker, type TestWorker } from './worker-harness.js';

describe('cancelling jobs through the control stream, on the real broker', () => {
  const prefix = randomPrefix('cancel');
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let worker: TestWorker;

  beforeAll(async () => {
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, '#');
    worker = await startTestWorker(prefix);
  });

  afterAll(async () => {
    await worker?.app.close();
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
  });

  const cancel = (jobId: string) =>
    worker.publisher.publish(ControlEvents.cancelRequested, { jobId, at: new Date().toISOString() });

  it('aborts a running job within a second, acks it and reports it cancelled (no retry, no dead letter)', async () => {
    const jobId = randomUUID();
    let abortedAt = 0;
    worker.script.behaviours.set(
      jobId,
      (job) =>
        new Promise((_, reject) => {
          job.signal.addEventListener('abort', () => {
            abortedAt = Date.now();
            reject(new Error('stopped mid-way'));
          });
        }),
    );
    await worker.publisher.publish(EchoCommands.run, echo('long'), { jobId, tenant: 'acme' });
    await recorder.waitForEvent(JobEvents.started.name, jobId);

    const requestedAt = Date.now();
    await cancel(jobId);
    const cancelled = await recorder.waitForEvent(JobEvents.cancelled.name, jobId);
    expect(abortedAt - requestedAt).toBeLessThan(1000);
    expect(cancelled.body).toMatchObject({ jobId, attempt: 1 });
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);
    expect(recorder.ofJob(jobId, JobEvents.failed.name)).toHaveLength(0);
    await waitFor(async () => (await admin.queue(worker.queue))?.unacked === 0, {
      description: 'the delivery acked',
    });
    expect((await admin.queue(worker.names.deadLetterQueue(worker.queue)))?.ready).toBe(0);
  });

  it('never starts a job cancelled while it waited, also on a worker that starts after the cancel', async () => {
    const early = randomUUID();
    await cancel(early);
    // A second worker process-equivalent, started after the request: it reads the stream from the start.
    const late = await startTestWorker(prefix);
    try {
      await worker.app.close(); // only the late worker consumes from here on
      await late.publisher.publish(EchoCommands.run, echo('never'), { jobId: early, tenant: 'acme' });
      const cancelled = await recorder.waitForEvent(JobEvents.cancelled.name, early);
      expect(cancelled.body).toMatchObject({ jobId: early, attempt: 0 });
      expect(late.script.deliveriesOf(early)).toHaveLength(0);
      expect(recorder.ofJob(early, JobEvents.started.name)).toHaveLength(0);

      // The worker keeps working: an uncancelled job still runs.
      const other = randomUUID();
      await late.publisher.publish(EchoCommands.run, echo('fine'), { jobId: other, tenant: 'acme' });
      await recorder.waitForEvent(JobEvents.succeeded.name, other);
    } finally {
      worker = late;
    }
  });

  it('tells the notification side when a job that asked to be notified ends', async () => {
    const jobId = randomUUID();
    const notify = { email: 'ops@example.com' };
    await worker.publisher.publish(EchoCommands.run, echo('tell me'), { jobId, tenant: 'acme', notify });
    const ended = await recorder.waitForEvent(NotifyEvents.jobEnded.name, jobId);
    expect(ended.body).toMatchObject({
      jobId,
      tenant: 'acme',
      type: EchoCommands.run.name,
      status: 'succeeded',
      result: { echoed: 'tell me' },
      notify,
    });

    const quiet = randomUUID();
    await worker.publisher.publish(EchoCommands.run, echo('no one asked'), { jobId: quiet, tenant: 'acme' });
    await recorder.waitForEvent(JobEvents.succeeded.name, quiet);
    expect(recorder.ofJob(quiet, NotifyEvents.jobEnded.name)).toHaveLength(0);
  });
});

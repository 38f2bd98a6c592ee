import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EchoCommands, JobEvents } from '#contracts';
import { buildEnvelope, Header, StillRunningError } from '#messaging';
import { BrokerAdmin, EventRecorder, randomPrefix, waitFor } from '#testing';
import { echo, startTestWorker, type TestWorker } from './worker-harness.js';

const LEASE_MS = 1000;

/**
 * Long handlers and the broker's consumer_timeout: a delivery is never held much longer than the lease.
 * After LEASE_MS the transport publishes a delayed copy (the lease) and acks the original; a copy that
 * comes back while the job still runs is handed back again (StillRunningError, no attempt used up), one
 * whose holder finished is dropped, and one whose holder died runs the job.
 */
describe('leases for long-running deliveries, on the real broker', () => {
  const prefix = randomPrefix('lease');
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let worker: TestWorker;

  beforeAll(async () => {
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
    worker = await startTestWorker(prefix, 3000, LEASE_MS);
  });

  afterAll(async () => {
    await worker?.app.close();
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
  });

  it('releases a long delivery under a lease, keeps the job running once, and drops the lease after', async () => {
    const jobId = randomUUID();
    let running = false;
    let copies = 0;
    let runs = 0;
    worker.script.behaviours.set(jobId, async (job) => {
      if (job.headers[Header.leaseId] !== undefined) {
        copies++;
        if (running) throw new StillRunningError('the first delivery is still at it');
      }
      runs++;
      running = true;
      await sleep(3.5 * LEASE_MS);
      running = false;
      return { done: true };
    });
    await worker.publisher.publish(EchoCommands.run, echo('long'), { jobId, tenant: 'acme' });
    await recorder.waitForEvent(JobEvents.started.name, jobId);

    // Past the lease, mid-run: nothing is held unacked any more.
    await sleep(1.5 * LEASE_MS);
    expect(running).toBe(true);
    expect((await admin.queue(worker.queue))?.unacked).toBe(0);

    await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 10_000);
    // Long enough for the last copy to come back and be dropped.
    await sleep(2.5 * LEASE_MS);
    expect(runs).toBe(1);
    expect(copies).toBeGreaterThanOrEqual(1);
    expect(recorder.ofJob(jobId, JobEvents.started.name)).toHaveLength(1);
    expect(recorder.ofJob(jobId, JobEvents.succeeded.name)).toHaveLength(1);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);
    const wait = worker.names.waitQueue(worker.queue, LEASE_MS);
    await waitFor(
      async () => {
        const [work, lease] = await Promise.all([admin.queue(worker.queue), admin.queue(wait)]);
        return work?.ready === 0 && work.unacked === 0 && lease?.ready === 0;
      },
      { description: 'no copy left anywhere' },
    );
  });

  it('lets the lease copy finish the job when its holder died mid-run', async () => {
    const jobId = randomUUID();
    let finishedBy: string | undefined;
    const behave =
      (name: string) => async (job: { signal: AbortSignal; headers: Readonly<Record<string, unknown>> }) => {
        // The holder never finishes on its own; the copy finishes quickly.
        if (job.headers[Header.leaseId] === undefined) {
          await new Promise((_, reject) => {
            job.signal.addEventListener('abort', () => {
              reject(new Error('killed'));
            });
          });
        }
        finishedBy = name;
        return { by: name };
      };
    worker.script.behaviours.set(jobId, behave('holder'));
    await worker.publisher.publish(EchoCommands.run, echo('orphaned'), { jobId, tenant: 'acme' });
    await recorder.waitForEvent(JobEvents.started.name, jobId);
    await sleep(1.3 * LEASE_MS); // released by now

    // Its process stops (shutdown grace 3 s, then the handler is aborted): the lease is never marked done.
    const survivor = await startTestWorker(prefix, 3000, LEASE_MS);
    survivor.script.behaviours.set(jobId, behave('survivor'));
    await worker.app.close();
    worker = survivor;

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 15_000);
    expect(succeeded.body).toMatchObject({ jobId, attempt: 1, result: { by: 'survivor' } });
    expect(finishedBy).toBe('survivor');
    // The copy continued attempt 1: no second start, nothing retried.
    expect(recorder.ofJob(jobId, JobEvents.started.name)).toHaveLength(1);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);
  });

  it('keeps a job whose lease copy ran past its lease and then asked to be handed back', async () => {
    const jobId = randomUUID();
    let deliveries = 0;
    worker.script.behaviours.set(jobId, async () => {
      // Say, a payment that waited on its database past the lease, then found it still away.
      if (++deliveries === 1) {
        await sleep(1.5 * LEASE_MS);
        throw new StillRunningError('the database is away');
      }
      return { done: true };
    });
    // A lease copy (as one comes back from the wait queue), so its lease timer reuses its lease id.
    const { content, properties } = buildEnvelope(
      EchoCommands.run,
      echo('handed back'),
      { jobId, tenant: 'acme' },
      'test',
    );
    await admin.publish(worker.names.commands, EchoCommands.run.name, content, {
      ...properties,
      headers: { ...properties.headers, [Header.leaseId]: randomUUID() },
    });

    // Before: the timer's copy and the handed-back copy shared the lease id, the lease was marked done, and
    // both were dropped when they came back: the job never ran again.
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId, 10_000);
    expect(succeeded.body).toMatchObject({ attempt: 1, result: { done: true } });
    await sleep(2.5 * LEASE_MS); // any second copy would have come back by now
    expect(deliveries).toBe(2);
  });
});

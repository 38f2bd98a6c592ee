import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EchoCommands, JobEvents } from '#contracts';
import { buildEnvelope, TopologyNames } from '#messaging';
import { BrokerAdmin, ChildService, EventRecorder, randomPrefix, TEST_RABBITMQ_URL } from '#testing';
import { echo } from './worker-harness.js';

const slowWorker = fileURLToPath(new URL('./fixtures/slow-worker.ts', import.meta.url));

describe('a worker process killed mid-handler', () => {
  const prefix = randomPrefix('crash');
  const names = new TopologyNames(prefix);
  const children: ChildService[] = [];
  let admin: BrokerAdmin;
  let recorder: EventRecorder;

  const startWorker = async (holdMs: number): Promise<ChildService> => {
    const child = ChildService.typescript(slowWorker, {
      CONVEYOR_PREFIX: prefix,
      RABBITMQ_URL: TEST_RABBITMQ_URL,
      HOLD_MS: String(holdMs),
    });
    children.push(child);
    await child.waitForOutput(/^attached$/m);
    return child;
  };

  beforeAll(async () => {
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await recorder?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
  });

  it('gets its message redelivered to a new process, which completes it', async () => {
    const doomed = await startWorker(120_000);
    const jobId = randomUUID();
    const { content, properties } = buildEnvelope(EchoCommands.run, echo('survive me'), { jobId }, 'test');
    await admin.publish(names.commands, EchoCommands.run.name, content, properties);

    await doomed.waitForOutput(new RegExp(`started ${jobId} redelivered=false`));
    // Killed once its start is out (a start leaves with the next lifecycle batch, within a few ms; a
    // delivery killed before that is redelivered all the same, but its start was never announced).
    await recorder.waitForEvent(JobEvents.started.name, jobId);
    doomed.kill('SIGKILL');
    expect(await doomed.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(recorder.ofJob(jobId, JobEvents.succeeded.name)).toHaveLength(0);

    const successor = await startWorker(0);
    await successor.waitForOutput(new RegExp(`started ${jobId} redelivered=true`));
    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);
    expect(succeeded.body.result).toEqual({ pid: successor.pid, message: 'survive me' });
    // Both deliveries announced a start: the gateway counts a crashed delivery as an attempt.
    expect(recorder.ofJob(jobId, JobEvents.started.name)).toHaveLength(2);
  });
});

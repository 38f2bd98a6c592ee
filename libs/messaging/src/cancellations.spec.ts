import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { ConsumeMessage } from 'amqplib';
import { ControlEvents } from '#contracts';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import { Cancellations } from './cancellations.js';
import { TopologyNames } from './topology.js';

const channel = { ack: () => undefined } as unknown as AnyChannel;

/** Hands `cancellations` a control-stream message of `type`, as its consumer would. */
function deliver(cancellations: Cancellations, type: string, body: unknown): void {
  const message = {
    content: Buffer.from(JSON.stringify(body)),
    properties: { type },
  } as unknown as ConsumeMessage;
  (cancellations as unknown as { receive(c: AnyChannel, m: ConsumeMessage): void }).receive(channel, message);
}

describe(Cancellations.name, () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('forgets finished leases after a day, as it forgets cancels, instead of keeping every one', () => {
    jest.useFakeTimers({ now: new Date('2026-11-01T00:00:00Z') });
    const cancellations = new Cancellations({} as AmqpConnection, new TopologyNames('t-unit'));
    const receive = (leaseId: string) => {
      deliver(cancellations, ControlEvents.leaseDone.name, { leaseId, at: new Date().toISOString() });
    };
    const old = Array.from({ length: 999 }, () => randomUUID());
    for (const id of old) receive(id);
    expect(old.every((id) => cancellations.isLeaseDone(id))).toBe(true);

    jest.setSystemTime(new Date('2026-11-02T02:00:00Z')); // 26 hours later
    const recent = randomUUID();
    receive(recent); // the thousandth: the old ones go
    expect(cancellations.isLeaseDone(recent)).toBe(true);
    expect(old.some((id) => cancellations.isLeaseDone(id))).toBe(false);
    expect((cancellations as unknown as { doneLeases: Map<string, unknown> }).doneLeases.size).toBe(1);
  });

  it('cancels the run it was asked for and earlier ones, never a later replay, whatever the clocks say', () => {
    const cancellations = new Cancellations({} as AmqpConnection, new TopologyNames('t-unit'));
    const cancel = (jobId: string, replays?: number) => {
      deliver(cancellations, ControlEvents.cancelRequested.name, {
        jobId,
        at: new Date().toISOString(),
        ...(replays ? { replays } : {}), // 0 goes as absent, as the gateway sends it
      });
    };
    const job = randomUUID();
    cancel(job, 1); // asked while the job was on its first replay
    expect(cancellations.isCancelled(job)).toBe(true); // the original (no replay-count header)
    expect(cancellations.isCancelled(job, 1)).toBe(true); // the run it was asked for, or its retry copy
    expect(cancellations.isCancelled(job, 2)).toBe(false); // a replay made after it
    expect(cancellations.isCancelled(randomUUID())).toBe(false);

    const replay = new AbortController();
    const untrack = cancellations.track(job, replay, 2);
    expect(replay.signal.aborted).toBe(false);
    cancel(job, 1); // the same cancel read again (a process catching up on the stream)
    expect(replay.signal.aborted).toBe(false);
    cancel(job, 0); // an older cancel read late does not forget the newer one
    expect(cancellations.isCancelled(job, 1)).toBe(true);
    cancel(job, 2); // the replay cancelled in its turn
    expect(replay.signal.aborted).toBe(true);
    untrack();
  });

  it('takes a cancel without a run count (how run 0 is sent, and how gateways before it sent all) for run 0', () => {
    const cancellations = new Cancellations({} as AmqpConnection, new TopologyNames('t-unit'));
    const job = randomUUID();
    deliver(cancellations, ControlEvents.cancelRequested.name, { jobId: job, at: new Date().toISOString() });
    expect(cancellations.isCancelled(job)).toBe(true);
    expect(cancellations.isCancelled(job, 0)).toBe(true);
    expect(cancellations.isCancelled(job, 1)).toBe(false);
  });
});

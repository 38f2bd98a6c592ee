import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { CancelRequested, ControlEvents, LeaseDone } from '#contracts';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import { errorMessageOf } from './errors.js';
import { assertTopology, describeCoreTopology, type TopologyNames } from './topology.js';

/** The reason a job's AbortSignal carries when the job was cancelled (not shut down). */
export class JobCancelledError extends Error {
  readonly code = 'cancelled';

  constructor(readonly jobId: string) {
    super(`Job ${jobId} was cancelled`);
    this.name = 'JobCancelledError';
  }
}

const MARKER_TYPE = 'control.marker';
/** As long as the stream keeps messages (`x-max-age: 1D`), plus a margin. */
const REMEMBER_MS = 25 * 60 * 60 * 1000;

/**
 * The control stream, read by every worker process: cancel requests, and leases whose holder finished.
 *
 * Cancel requests, read by every worker process from the control stream (`<prefix>.control`). A process
 * reads the stream from its first retained message, so it knows every job cancelled in the last day even
 * if it started after the request; a command for such a job is never started. A job running here when its
 * cancel arrives has its AbortSignal aborted with a {@link JobCancelledError}.
 *
 * Caught up = our own marker, appended to the stream when we attach, has come back: everything published
 * before it has been read.
 */
export class Cancellations {
  private readonly log = new Logger('AmqpTransport');
  /** Cancelled jobs, with the last run each cancel stopped (see {@link CancelRequested}'s `replays`). */
  private readonly cancelled = new Map<string, Noted<number>>();
  /** Leases whose holder finished: their copies are dropped when they come back. */
  private readonly doneLeases = new Map<string, Noted<true>>();
  /** Each running job's controllers, with the run (replay count) of their command. */
  private readonly running = new Map<string, Map<AbortController, number>>();
  private readonly marker = randomUUID();
  private wrapper?: ChannelWrapper;
  private live?: AnyChannel;
  private markSeen!: () => void;
  private readonly caughtUp = new Promise<void>((resolve) => {
    this.markSeen = resolve;
  });
  private seen = false;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly names: TopologyNames,
  ) {}

  start(): void {
    this.wrapper ??= this.connection.openChannel({
      name: `consume ${this.names.control}`,
      confirm: false,
      setup: (channel) => this.attach(channel),
    });
  }

  async stop(): Promise<void> {
    if (this.wrapper) await this.connection.closeChannel(this.wrapper);
  }

  /** True once this process has read the stream up to the moment it attached (or `timeoutMs` passed). */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.seen) return true;
    const seen = await Promise.race([
      this.caughtUp.then(() => true),
      sleep(timeoutMs, false, { ref: false }),
    ]);
    if (!seen) this.log.warn(`Control stream not caught up within ${timeoutMs} ms; consuming anyway`);
    return seen;
  }

  /**
   * Whether a command of `jobId`'s run `replayCount` (its `replay-count` header; retry and lease copies keep
   * it) was cancelled: a cancel stops the run it was asked for and earlier ones, never a replay made after
   * it, which must run. No clocks are compared: the gateway counts the runs in the job's record.
   */
  isCancelled(jobId: string, replayCount = 0): boolean {
    const last = this.cancelled.get(jobId)?.value;
    return last !== undefined && replayCount <= last;
  }

  isLeaseDone(leaseId: string): boolean {
    return this.doneLeases.has(leaseId);
  }

  /**
   * Registers a running job's controller (its command of run `replayCount`) until the returned function is
   * called; a cancel of the job aborts it unless the command belongs to a later replay than the cancel.
   */
  track(jobId: string, controller: AbortController, replayCount = 0): () => void {
    if (this.isCancelled(jobId, replayCount)) controller.abort(new JobCancelledError(jobId));
    let runs = this.running.get(jobId);
    if (!runs) this.running.set(jobId, (runs = new Map<AbortController, number>()));
    runs.set(controller, replayCount);
    return () => {
      runs.delete(controller);
      if (runs.size === 0) this.running.delete(jobId);
    };
  }

  private async attach(channel: AnyChannel): Promise<void> {
    this.live = channel;
    await assertTopology(channel, describeCoreTopology(this.names));
    // Streams need a prefetch and manual acks; acks only move the credit window, nothing is removed.
    await channel.prefetch(500, false);
    await channel.consume(
      this.names.control,
      (message) => {
        this.receive(channel, message);
      },
      {
        noAck: false,
        arguments: { 'x-stream-offset': 'first' },
      },
    );
    channel.sendToQueue(this.names.control, Buffer.from('{}'), {
      type: MARKER_TYPE,
      messageId: this.marker,
      contentType: 'application/json',
    });
  }

  private receive(channel: AnyChannel, message: ConsumeMessage | null): void {
    if (!message) return;
    try {
      const properties = message.properties as { type?: unknown; messageId?: unknown };
      if (properties.type === MARKER_TYPE) {
        if (properties.messageId === this.marker && !this.seen) {
          this.seen = true;
          this.markSeen();
        }
      } else if (properties.type === ControlEvents.cancelRequested.name) {
        this.cancel(message.content);
      } else if (properties.type === ControlEvents.leaseDone.name) {
        const parsed = LeaseDone.safeParse(JSON.parse(message.content.toString('utf8')));
        if (parsed.success) remember(this.doneLeases, parsed.data.leaseId, true);
      }
    } catch (error) {
      this.log.warn(`Unreadable control message: ${errorMessageOf(error)}`);
    }
    if (this.live === channel) channel.ack(message);
  }

  private cancel(content: Buffer): void {
    const parsed = CancelRequested.safeParse(JSON.parse(content.toString('utf8')));
    if (!parsed.success) throw new Error('cancel request does not match its contract');
    const { jobId } = parsed.data;
    const replays = parsed.data.replays ?? 0;
    const last = Math.max(replays, this.cancelled.get(jobId)?.value ?? replays);
    remember(this.cancelled, jobId, last);
    for (const [controller, replayCount] of this.running.get(jobId) ?? []) {
      if (this.isCancelled(jobId, replayCount)) controller.abort(new JobCancelledError(jobId));
    }
  }
}

/** A remembered value, with when it was last noted. */
interface Noted<T> {
  readonly value: T;
  readonly at: number;
}

/**
 * Notes `value` for `key`, now; at every thousandth entry, forgets those noted more than
 * {@link REMEMBER_MS} ago (the control stream keeps a day, so nothing older can come back after a restart
 * either).
 */
function remember<T>(entries: Map<string, Noted<T>>, key: string, value: T): void {
  const now = Date.now();
  entries.set(key, { value, at: now });
  if (entries.size % 1000 !== 0) return;
  for (const [old, noted] of entries) {
    if (noted.at < now - REMEMBER_MS) entries.delete(old);
  }
}

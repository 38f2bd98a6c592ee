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
  private readonly cancelled = new Map<string, number>();
  /** Leases whose holder finished: their copies are dropped when they come back. */
  private readonly doneLeases = new Map<string, number>();
  private readonly running = new Map<string, Set<AbortController>>();
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

  isCancelled(jobId: string): boolean {
    return this.cancelled.has(jobId);
  }

  isLeaseDone(leaseId: string): boolean {
    return this.doneLeases.has(leaseId);
  }

  /** Registers a running job's controller until the returned function is called. */
  track(jobId: string, controller: AbortController): () => void {
    if (this.cancelled.has(jobId)) controller.abort(new JobCancelledError(jobId));
    let set = this.running.get(jobId);
    if (!set) this.running.set(jobId, (set = new Set()));
    set.add(controller);
    return () => {
      set.delete(controller);
      if (set.size === 0) this.running.delete(jobId);
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
        if (parsed.success) this.doneLeases.set(parsed.data.leaseId, Date.now());
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
    const at = Date.now();
    this.cancelled.set(jobId, at);
    for (const controller of this.running.get(jobId) ?? []) controller.abort(new JobCancelledError(jobId));
    if (this.cancelled.size % 1000 === 0) forgetOlderThan(this.cancelled, at - REMEMBER_MS);
  }
}

function forgetOlderThan(entries: Map<string, number>, cutoff: number): void {
  for (const [key, at] of entries) {
    if (at < cutoff) entries.delete(key);
  }
}

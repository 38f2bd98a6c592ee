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
  /** Each running job's controllers, with when their command was first published. */
  private readonly running = new Map<string, Map<AbortController, number | undefined>>();
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
   * Whether a command for `jobId` first published at `publishedAt` (ms; retry and lease copies keep their
   * original's) was cancelled: a cancel counts for commands published before it, not for a replay of the
   * job published after it, which must run. Without `publishedAt`, any cancel of the job counts.
   */
  isCancelled(jobId: string, publishedAt?: number): boolean {
    const at = this.cancelled.get(jobId);
    return at !== undefined && (publishedAt === undefined || publishedAt <= at);
  }

  isLeaseDone(leaseId: string): boolean {
    return this.doneLeases.has(leaseId);
  }

  /**
   * Registers a running job's controller (its command first published at `publishedAt`) until the returned
   * function is called; a cancel of the job aborts it unless the command was published after the cancel.
   */
  track(jobId: string, controller: AbortController, publishedAt?: number): () => void {
    if (this.isCancelled(jobId, publishedAt)) controller.abort(new JobCancelledError(jobId));
    let runs = this.running.get(jobId);
    if (!runs) this.running.set(jobId, (runs = new Map<AbortController, number | undefined>()));
    runs.set(controller, publishedAt);
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
        if (parsed.success) remember(this.doneLeases, parsed.data.leaseId);
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
    // When the cancel was asked, not when it was read here: this process may be catching up on the stream.
    const asked = Date.parse(parsed.data.at);
    const at = Number.isNaN(asked) ? Date.now() : asked;
    remember(this.cancelled, jobId, at);
    for (const [controller, publishedAt] of this.running.get(jobId) ?? []) {
      if (publishedAt === undefined || publishedAt <= at) controller.abort(new JobCancelledError(jobId));
    }
  }
}

/**
 * Notes `key` as seen at `at` (now by default; the latest of the times it was noted); at every thousandth
 * entry, forgets those older than {@link REMEMBER_MS} (the control stream keeps a day, so nothing older can
 * come back after a restart either).
 */
function remember(entries: Map<string, number>, key: string, at = Date.now()): void {
  const now = Date.now();
  entries.set(key, Math.max(at, entries.get(key) ?? at));
  if (entries.size % 1000 !== 0) return;
  for (const [old, seen] of entries) {
    if (seen < now - REMEMBER_MS) entries.delete(old);
  }
}

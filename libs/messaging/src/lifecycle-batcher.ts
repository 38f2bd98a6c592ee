import { randomUUID } from 'node:crypto';
import { JobEvents, type BatchedJobEvent } from '#contracts';
import type { IncomingEnvelope } from './envelope.js';
import type { MessagePublisher } from './publisher.js';

export interface LifecycleBatcherOptions {
  /** Events per message at most. */
  readonly maxBatch?: number;
  /** How long the first event of a batch waits for company. */
  readonly maxDelayMs?: number;
}

type Body<T extends BatchedJobEvent['type']> = Extract<BatchedJobEvent, { type: T }>['body'];

interface Pending {
  readonly event: BatchedJobEvent;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What a lifecycle event says besides its body: whose job, which trace, which run of it. */
export interface LifecycleMeta {
  readonly tenant?: string | undefined;
  readonly traceparent?: string | undefined;
  /** The job's run (its command's replay count). */
  readonly run?: number | undefined;
}

/** The lifecycle meta of the command `envelope` carries. */
export function lifecycleMetaOf(envelope: IncomingEnvelope): LifecycleMeta {
  return { tenant: envelope.tenant, traceparent: envelope.traceparent, run: envelope.replayCount };
}

/**
 * Lifecycle events leave a worker in batches (`job.batch`): everything its jobs report within
 * `maxDelayMs` goes out as one confirmed message. A busy worker sends a few messages where it would send
 * thousands; an idle one adds at most `maxDelayMs` to an event. Each caller's promise settles with the
 * confirm of the message that carried its event, so "published before acked" holds event by event.
 */
export class LifecycleBatcher {
  private pending: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly publisher: MessagePublisher,
    options: LifecycleBatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 2;
  }

  publish<T extends BatchedJobEvent['type']>(type: T, body: Body<T>, meta: LifecycleMeta): Promise<void> {
    const event = {
      type,
      id: randomUUID(),
      body,
      ...(meta.tenant === undefined ? {} : { tenant: meta.tenant }),
      ...(meta.traceparent === undefined ? {} : { traceparent: meta.traceparent }),
      ...(meta.run ? { run: meta.run } : {}), // 0 goes as absent (see the contract)
    } as BatchedJobEvent;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else
        this.timer ??= setTimeout(() => {
          this.flush();
        }, this.maxDelayMs);
    });
  }

  /** Sends what is waiting now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    // Built here from the transport's own typed values, and validated by the consumer against the same
    // contract: not parsed a second time on the way out (a few µs per event on a worker's hot path).
    this.publisher.publishValidated(JobEvents.batch, { events: batch.map((p) => p.event) }).then(
      () => {
        for (const p of batch) p.resolve();
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}

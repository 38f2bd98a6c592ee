import type { TopologyNames } from './topology.js';

/** The second argument of `@EventPattern(pattern, options)`. */
export interface HandlerOptions {
  readonly retry?: { readonly maxAttempts?: number };
  /** Unacked deliveries this consumer holds at once (quorum queues allow per-consumer prefetch only). */
  readonly prefetch?: number;
  /** Queue name after `<prefix>.<service>.`; defaults to the pattern. Needed for wildcard patterns. */
  readonly queue?: string;
  /**
   * Publish `job.started` / `job.succeeded` / `job.retrying` / `job.failed` for the message's job.
   * Default: true for commands, false for event subscriptions.
   */
  readonly lifecycle?: boolean;
}

export interface TransportOptions {
  readonly names: TopologyNames;
  /** This service's name: part of its queue names and of `failed-by`. */
  readonly service: string;
  readonly retryTiers: readonly number[];
  readonly shutdownGraceMs: number;
  /** A handler running longer than this has its delivery turned into a lease (see AmqpTransport). */
  readonly leaseAfterMs?: number;
  readonly defaultMaxAttempts?: number;
  readonly defaultPrefetch?: number;
  /** How long to wait before requeueing a message whose outcome could not be published. */
  readonly requeueDelayMs?: number;
}

import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { ControlEvents } from '#contracts';
import { Header, type IncomingEnvelope } from './envelope.js';
import { errorMessageOf } from './errors.js';
import { describeDelivery, type FailureRouter } from './failure-router.js';
import type { MessagePublisher } from './publisher.js';
import type { TopologyNames } from './topology.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A delivery whose handler runs longer than this is handed back as a lease, unless configured otherwise. */
export const DEFAULT_LEASE_AFTER_MS = 300_000;

/**
 * Leases for long-running deliveries (see AmqpTransport): a copy of the command — same body and attempt,
 * a `lease-id` header — waits in the work queue's wait queue whose TTL is the lease, and comes back unless
 * the lease is marked done on the control stream first.
 */
export class Leases {
  private readonly log = new Logger('AmqpTransport');

  constructor(
    private readonly publisher: MessagePublisher,
    private readonly failures: FailureRouter,
    private readonly names: TopologyNames,
    readonly afterMs: number,
  ) {}

  /**
   * Hands a running delivery back: publishes its lease copy, then `ack`s the original. Resolves to the lease
   * id once acked, or undefined when the copy could not be published (the delivery is then held on).
   */
  async release(
    queue: string,
    message: ConsumeMessage,
    envelope: IncomingEnvelope,
    existing: string | undefined,
    ack: () => void,
  ): Promise<string | undefined> {
    const leaseId = existing ?? randomUUID();
    try {
      await this.publish(queue, message, envelope, leaseId);
    } catch (error) {
      this.log.warn(`${describeDelivery(queue, envelope)}: lease not published (${errorMessageOf(error)})`);
      return undefined;
    }
    ack();
    this.log.log(`${describeDelivery(queue, envelope)} still running: released under lease ${leaseId}`);
    return leaseId;
  }

  /** Publishes the lease copy of `message` (confirmed, mandatory). */
  async publish(
    queue: string,
    message: ConsumeMessage,
    envelope: IncomingEnvelope,
    leaseId: string,
  ): Promise<void> {
    await this.publisher.publishRaw({
      exchange: this.names.retry,
      routingKey: this.names.retryKey(queue, this.afterMs),
      content: message.content,
      properties: this.failures.republished(message, envelope, { [Header.leaseId]: leaseId }),
      mandatory: true,
    });
  }

  /** Its holder finished: a copy that comes back is dropped. Never throws. */
  async markDone(leaseId: string, jobId: string | undefined): Promise<void> {
    await this.publisher
      .publish(ControlEvents.leaseDone, {
        leaseId,
        ...(jobId ? { jobId } : {}),
        at: new Date().toISOString(),
      })
      .catch((error: unknown) => {
        // Its copy will come back and run once more; handlers are idempotent per job.
        this.log.warn(`Lease ${leaseId} not marked done: ${errorMessageOf(error)}`);
      });
  }
}

/** The lease a delivery is a copy under, if it is one. */
export function leaseIdOf(envelope: IncomingEnvelope): string | undefined {
  const value = envelope.headers[Header.leaseId];
  return typeof value === 'string' && UUID.test(value) ? value : undefined;
}

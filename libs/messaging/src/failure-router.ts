import { Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { Header, type EnvelopeProperties, type Headers, type IncomingEnvelope } from './envelope.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import type { MessagePublisher } from './publisher.js';
import type { RetryPolicy } from './retry-policy.js';
import type { TopologyNames } from './topology.js';
import { notifyJobEnded } from './job-ended.js';
import { lifecycleMetaOf, type LifecycleBatcher } from './lifecycle-batcher.js';

export type DeadLetterReason = 'permanent' | 'exhausted' | 'invalid';

export interface FailureRouterOptions {
  readonly names: TopologyNames;
  /** `service@host/pid`, recorded on every failed message. */
  readonly failedBy: string;
  readonly appId: string;
}

/**
 * Where a failed delivery goes: the next retry tier (with `attempt + 1`) or the dead-letter queue, with
 * the error in its headers, and the matching lifecycle event. Every republish is mandatory and confirmed,
 * so the caller acks the original only once the failure is safely recorded.
 */
export class FailureRouter {
  private readonly log = new Logger('AmqpTransport');

  constructor(
    private readonly publisher: MessagePublisher,
    private readonly lifecycle: LifecycleBatcher,
    private readonly options: FailureRouterOptions,
  ) {}

  async route(
    queue: string,
    policy: RetryPolicy,
    message: ConsumeMessage,
    envelope: IncomingEnvelope,
    error: unknown,
    jobId: string | undefined,
  ): Promise<'retried' | 'dead-lettered'> {
    const decision = policy.decide(error, envelope.attempt);
    if (decision.action === 'dead-letter') {
      await this.deadLetter(queue, policy, message, envelope, error, decision.reason, jobId);
      return 'dead-lettered';
    }
    const { names } = this.options;
    const failure = { message: errorMessageOf(error), code: errorCodeOf(error) };
    this.log.warn(
      `${describeDelivery(queue, envelope)} failed (${failure.code}: ${failure.message}); retry ${decision.nextAttempt}/${policy.maxAttempts} in ${decision.delayMs} ms`,
    );
    await this.publisher.publishRaw({
      exchange: names.retry,
      routingKey: names.retryKey(queue, decision.delayMs),
      content: message.content,
      properties: this.republished(message, envelope, {
        [Header.attempt]: decision.nextAttempt,
        [Header.maxAttempts]: policy.maxAttempts,
        [Header.errorMessage]: failure.message,
        [Header.errorCode]: failure.code,
        [Header.failedBy]: this.options.failedBy,
      }),
      mandatory: true,
    });
    if (jobId) {
      const retryAt = new Date(Date.now() + decision.delayMs).toISOString();
      await this.afterCopy(jobId, 'job.retrying', () =>
        this.lifecycle.publish(
          'job.retrying',
          { jobId, attempt: envelope.attempt, error: failure, retryAt, at: new Date().toISOString() },
          lifecycleMetaOf(envelope),
        ),
      );
    }
    return 'retried';
  }

  async deadLetter(
    queue: string,
    policy: RetryPolicy,
    message: ConsumeMessage,
    envelope: IncomingEnvelope,
    error: unknown,
    reason: DeadLetterReason,
    jobId: string | undefined,
  ): Promise<void> {
    const failure = { message: errorMessageOf(error), code: errorCodeOf(error) };
    this.log.warn(
      `${describeDelivery(queue, envelope)} dead-lettered (${reason}, ${failure.code}: ${failure.message})`,
    );
    await this.publisher.publishRaw({
      exchange: this.options.names.dead,
      routingKey: queue,
      content: message.content,
      properties: this.republished(message, envelope, {
        [Header.attempt]: envelope.attempt,
        [Header.maxAttempts]: policy.maxAttempts,
        [Header.errorMessage]: failure.message,
        [Header.errorCode]: failure.code,
        [Header.failedBy]: this.options.failedBy,
        [Header.deadReason]: reason,
      }),
      mandatory: true,
    });
    if (jobId) {
      await this.afterCopy(jobId, 'job.failed', () =>
        this.lifecycle.publish(
          'job.failed',
          { jobId, attempt: envelope.attempt, error: failure, at: new Date().toISOString() },
          lifecycleMetaOf(envelope),
        ),
      );
      await this.afterCopy(jobId, 'notify.job-ended', () =>
        notifyJobEnded(this.publisher, jobId, envelope, { status: 'failed', error: failure }),
      );
    }
  }

  /**
   * Publishes an event of a failure whose copy (retry or dead letter) is already confirmed. A failure here
   * must not fail the routing: the original would be requeued and run again beside its copy, two live
   * chains of one job. The status catches up anyway: a retry's `job.started` moves the job on, and the
   * dead-letter archive marks a dead-lettered job `failed`. A `notify.job-ended` lost this way is a notice
   * not sent (logged here), which is better than running the job's effect once more.
   */
  private async afterCopy(jobId: string, event: string, publish: () => Promise<unknown>): Promise<void> {
    try {
      await publish();
    } catch (error) {
      this.log.warn(`${event} of job ${jobId} not published (its copy is safe): ${errorMessageOf(error)}`);
    }
  }

  /** The original message's properties with updated headers; broker-owned `x-` headers are dropped. */
  republished(message: ConsumeMessage, envelope: IncomingEnvelope, extra: Headers): EnvelopeProperties {
    const headers: Headers = {};
    for (const [key, value] of Object.entries(envelope.headers)) {
      // A retry or dead letter is a new delivery of its own, not a continuation of a lease.
      if (!key.startsWith('x-') && key !== Header.leaseId) headers[key] = value;
    }
    const p = message.properties as {
      messageId?: unknown;
      correlationId?: unknown;
      appId?: unknown;
      timestamp?: unknown;
    };
    const properties: EnvelopeProperties = {
      messageId: typeof p.messageId === 'string' ? p.messageId : `${envelope.type}:${Date.now()}`,
      type: envelope.type,
      contentType: 'application/json',
      persistent: true,
      timestamp: typeof p.timestamp === 'number' ? p.timestamp : Math.floor(Date.now() / 1000),
      appId: typeof p.appId === 'string' ? p.appId : this.options.appId,
      headers: { ...headers, ...extra },
    };
    if (typeof p.correlationId === 'string') properties.correlationId = p.correlationId;
    return properties;
  }
}

/** How log lines name a delivery. */
export function describeDelivery(queue: string, envelope: IncomingEnvelope): string {
  const job = envelope.jobId ? ` job ${envelope.jobId}` : '';
  return `${envelope.type}${job} (attempt ${envelope.attempt}, message ${envelope.messageId ?? '?'}) on ${queue}`;
}

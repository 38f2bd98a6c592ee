import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import { SpanStatusCode } from '@opentelemetry/api';
import { isObservable, lastValueFrom } from 'rxjs';
import { contractFor, parsePayload, type Contract, type JobEnded, type JobSucceeded } from '#contracts';
import type { AnyChannel } from './amqp-connection.js';
import { JobCancelledError, type Cancellations } from './cancellations.js';
import { settleDelivery, type Consumer } from './consumer.js';
import type { DeliveryObserver, DeliveryOutcome } from './delivery-report.js';
import { parseBody, readEnvelope, type IncomingEnvelope } from './envelope.js';
import { errorMessageOf, InvalidMessageError, PermanentError, StillRunningError } from './errors.js';
import { describeDelivery, type FailureRouter } from './failure-router.js';
import { JobContext, throttleProgress } from './job-context.js';
import { notifyJobEnded } from './job-ended.js';
import { leaseIdOf, type Leases } from './leases.js';
import { lifecycleMetaOf, type LifecycleBatcher } from './lifecycle-batcher.js';
import type { MessagePublisher } from './publisher.js';
import { startConsumerSpan, traceparentOf } from './trace-context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a {@link DeliveryRunner} publishes and routes through, shared with the transport that owns it. */
export interface DeliveryRunnerParts {
  readonly publisher: MessagePublisher;
  readonly lifecycle: LifecycleBatcher;
  readonly failures: FailureRouter;
  readonly cancellations: Cancellations;
  readonly leases: Leases;
  /** How long to wait before requeueing a message whose outcome could not be published. */
  readonly requeueDelayMs: number;
  /** True once the service is stopping: an aborted handler's message is requeued, without the pause. */
  readonly isDraining: () => boolean;
}

/**
 * One delivery, from its bytes to its settlement: decode and validate it against its contract, announce
 * the job's start, run the handler, and decide from how it ended — returned → `job.succeeded`, then ack;
 * `PermanentError` or an invalid message → dead-letter queue; anything else → the next retry tier, or the
 * dead-letter queue once attempts run out. A delivery that outlives the broker's consumer timeout becomes
 * a lease; a cancelled job stops. Every outcome it publishes is confirmed before the message is acked.
 */
export class DeliveryRunner {
  private readonly log = new Logger('AmqpTransport'); // like the transport's other parts: one context to grep
  private readonly aborts = new Set<AbortController>();
  private readonly observers: DeliveryObserver[] = [];

  constructor(private readonly parts: DeliveryRunnerParts) {}

  observe(observer: DeliveryObserver): void {
    this.observers.push(observer);
  }

  /** Aborts every running handler (the service's grace is over). */
  abortAll(reason: Error): void {
    for (const controller of this.aborts) controller.abort(reason);
  }

  /**
   * Decodes, runs and settles one delivery, then tells the observers how it went. `refused`: the transport
   * already found the message unusable (a malformed pack); it is dead-lettered with that error, undecoded.
   */
  async run(
    consumer: Consumer,
    channel: AnyChannel,
    message: ConsumeMessage,
    refused?: Error,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const deliveredAt = Date.now();
    const received = readEnvelope(message);
    // One span per delivery, child of whoever published it; what this delivery publishes (lifecycle
    // events) carries this span on, so a trace runs gateway → worker → gateway.
    const span = startConsumerSpan(received.type, received.traceparent, () => ({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': consumer.queue,
      'messaging.message.id': received.messageId ?? '',
      'conveyor.job_id': received.jobId ?? '',
      'conveyor.attempt': received.attempt,
    }));
    const envelope: IncomingEnvelope = span
      ? { ...received, traceparent: traceparentOf(span) ?? received.traceparent }
      : received;
    const jobId =
      consumer.lifecycle && envelope.jobId && UUID.test(envelope.jobId) ? envelope.jobId : undefined;
    const leaseId = leaseIdOf(envelope);
    if (jobId && leaseId !== undefined && this.parts.cancellations.isLeaseDone(leaseId)) {
      // A lease copy whose holder finished the job: nothing left to do.
      settleDelivery(consumer, channel, message, 'ack', this.log);
      span?.end();
      return;
    }
    // A job that runs long gives its delivery back before the broker's consumer_timeout could close the
    // channel: a delayed copy (the lease) goes to the wait queue, then the original is acked.
    let released: Promise<string | undefined> | undefined;
    const leaseTimer = jobId
      ? setTimeout(() => {
          released = this.parts.leases.release(consumer.queue, message, envelope, leaseId, () => {
            settleDelivery(consumer, channel, message, 'ack', this.log);
          });
        }, this.parts.leases.afterMs)
      : undefined;
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.handle(
        consumer,
        message,
        envelope,
        jobId,
        leaseId !== undefined,
        refused,
        () => released,
      );
    } catch (error) {
      // An outcome we depend on (a retry, a dead-letter, a lifecycle event) was not confirmed: the message
      // must come back. The pause keeps a broker in trouble from spinning us.
      this.log.error(`${describeDelivery(consumer.queue, envelope)}: ${errorMessageOf(error)}; requeueing`);
      if (!this.parts.isDraining()) await sleep(this.parts.requeueDelayMs);
      outcome = 'requeued';
    } finally {
      clearTimeout(leaseTimer);
    }
    const lease = await released;
    if (lease === undefined) {
      settleDelivery(consumer, channel, message, outcome === 'requeued' ? 'requeue' : 'ack', this.log);
    } else if (outcome !== 'requeued' && outcome !== 'leased') {
      // Acked already; its lease copy must not run the job again. (Handed back, the job is not done: the
      // copy the lease published is the one that carries it on.)
      await this.parts.leases.markDone(lease, jobId);
    }
    if (span) {
      span.setAttribute('conveyor.outcome', outcome);
      if (outcome !== 'succeeded') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
    }
    const report = {
      queue: consumer.queue,
      type: envelope.type,
      jobId: envelope.jobId,
      tenant: envelope.tenant,
      attempt: envelope.attempt,
      messageId: envelope.messageId,
      traceparent: envelope.traceparent,
      waitedSeconds:
        received.publishedAt === undefined
          ? undefined
          : Math.max(0, (deliveredAt - received.publishedAt) / 1000),
      outcome,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    for (const observer of this.observers) observer(report);
  }

  private async handle(
    consumer: Consumer,
    message: ConsumeMessage,
    envelope: IncomingEnvelope,
    jobId: string | undefined,
    continuation: boolean,
    refused: Error | undefined,
    /** The lease copy the lease timer published while the handler ran, if it did (its lease id once out). */
    timerCopy: () => Promise<string | undefined> | undefined,
  ): Promise<DeliveryOutcome> {
    let payload: unknown;
    try {
      if (refused) throw refused;
      payload = this.decode(consumer, envelope, message.content);
    } catch (error) {
      await this.parts.failures.deadLetter(
        consumer.queue,
        consumer.policy,
        message,
        envelope,
        error,
        'invalid',
        jobId,
      );
      return 'dead-lettered';
    }

    const meta = lifecycleMetaOf(envelope);
    if (jobId && this.parts.cancellations.isCancelled(jobId, envelope.replayCount)) {
      // Cancelled while it waited (queued, scheduled or between retries): it never starts.
      await this.cancelled(jobId, envelope, envelope.attempt - 1);
      return 'cancelled';
    }
    const controller = new AbortController();
    this.aborts.add(controller);
    const untrack = jobId
      ? this.parts.cancellations.track(jobId, controller, envelope.replayCount)
      : undefined;
    try {
      // A lease copy continues its attempt (it was counted when that attempt started). The start goes out
      // while the job runs, not before: a fast job's start and end then travel in one batch (and become one
      // change of its record). Its confirm is awaited with the end's, or before a failure is routed.
      const started =
        jobId && !continuation
          ? this.parts.lifecycle.publish('job.started', { jobId, attempt: envelope.attempt, at: now() }, meta)
          : undefined;
      started?.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
      const progress = throttleProgress((percent) => {
        if (!jobId) return;
        this.parts.lifecycle
          .publish('job.progress', { jobId, progress: percent, at: now() }, meta)
          .catch((error: unknown) => {
            this.log.warn(`Progress of job ${jobId} not published: ${errorMessageOf(error)}`);
          });
      }, 250);
      const context = new JobContext(
        envelope,
        () => controller.signal,
        progress,
        consumer.policy.maxAttempts,
      );

      let result: JobSucceeded['result'];
      try {
        result = resultAsJson(await this.invoke(consumer.handler, payload, context));
      } catch (error) {
        await started;
        if (jobId && controller.signal.reason instanceof JobCancelledError) {
          await this.cancelled(jobId, envelope, envelope.attempt);
          return 'cancelled';
        }
        if (this.parts.isDraining() && controller.signal.aborted) return 'requeued';
        if (jobId && error instanceof StillRunningError) {
          // Another delivery of this job runs right now (or what it needs is away): look again one lease
          // later, using up nothing. A handler that ran past its lease has a copy out already, which does.
          this.log.log(`${describeDelivery(consumer.queue, envelope)} handed back: ${errorMessageOf(error)}`);
          if ((await timerCopy()) === undefined) {
            await this.parts.leases.publish(
              consumer.queue,
              message,
              envelope,
              leaseIdOf(envelope) ?? randomUUID(),
            );
          }
          return 'leased';
        }
        return await this.parts.failures.route(
          consumer.queue,
          consumer.policy,
          message,
          envelope,
          error,
          jobId,
        );
      }
      if (jobId) {
        // Finished before the cancel could stop it: it keeps its success. Events leave in the order they
        // were published; both confirms are awaited (an unconfirmed start requeues the job, like before).
        await Promise.all([
          started,
          this.parts.lifecycle.publish(
            'job.succeeded',
            { jobId, attempt: envelope.attempt, result, at: now() },
            meta,
          ),
        ]);
        await this.notifyEnded(jobId, envelope, { status: 'succeeded', result });
      }
      return 'succeeded';
    } finally {
      untrack?.();
      this.aborts.delete(controller);
    }
  }

  /** The job stopped (or never started) because it was cancelled: say so, and ack. */
  private async cancelled(jobId: string, envelope: IncomingEnvelope, attempt: number): Promise<void> {
    this.log.log(`${describeDelivery('', envelope)} cancelled`);
    await this.parts.lifecycle.publish(
      'job.cancelled',
      { jobId, attempt: Math.max(0, attempt), at: now() },
      lifecycleMetaOf(envelope),
    );
    await this.notifyEnded(jobId, envelope, { status: 'cancelled' });
  }

  private notifyEnded(
    jobId: string,
    envelope: IncomingEnvelope,
    outcome: Pick<JobEnded, 'status' | 'result'>,
  ): Promise<void> {
    return notifyJobEnded(this.parts.publisher, jobId, envelope, outcome);
  }

  private decode(consumer: Consumer, envelope: IncomingEnvelope, content: Buffer): unknown {
    const contract: Contract | undefined = contractFor(envelope.type);
    if (
      !contract ||
      (!consumer.pattern.includes('*') &&
        !consumer.pattern.includes('#') &&
        contract.name !== consumer.pattern)
    ) {
      throw new InvalidMessageError(
        `Unknown message type "${envelope.type}" on ${consumer.queue}`,
        'unknown_message_type',
      );
    }
    if (consumer.lifecycle && !(envelope.jobId && UUID.test(envelope.jobId))) {
      throw new InvalidMessageError(
        `A ${contract.name} command needs a UUID in the job-id header`,
        'invalid_payload',
      );
    }
    const body = parseBody(content);
    try {
      return parsePayload(contract, body);
    } catch (error) {
      throw new InvalidMessageError(errorMessageOf(error), 'invalid_payload');
    }
  }

  private async invoke(handler: MessageHandler, payload: unknown, context: JobContext): Promise<unknown> {
    const returned: unknown = await handler(payload, context);
    // A handler may return an Observable (Nest allows it); a plain value needs no rxjs round trip.
    return isObservable(returned) ? lastValueFrom(returned, { defaultValue: undefined }) : returned;
  }
}

function now(): string {
  return new Date().toISOString();
}

/**
 * A handler's result as the JSON its `job.succeeded` carries. One JSON cannot hold (a BigInt, a cycle) is a
 * bug of the handler's, failed for good like any other permanent error: thrown after the handler, outside
 * its failure routing, it would requeue the delivery and run the handler's effect again and again.
 */
function resultAsJson(value: unknown): JobSucceeded['result'] {
  try {
    return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JobSucceeded['result']);
  } catch (error) {
    throw new PermanentError(`The job's result is not JSON: ${errorMessageOf(error)}`, 'invalid_result');
  }
}

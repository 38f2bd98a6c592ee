import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { SpanStatusCode } from '@opentelemetry/api';
import { isObservable, lastValueFrom } from 'rxjs';
import { contractFor, parsePayload, type Contract, type JobEnded, type JobSucceeded } from '#contracts';
import { Acknowledger } from './acknowledger.js';
import { Cancellations, JobCancelledError } from './cancellations.js';
import { notifyJobEnded } from './job-ended.js';
import { LifecycleBatcher } from './lifecycle-batcher.js';
import { DEFAULT_LEASE_AFTER_MS, Leases, leaseIdOf } from './leases.js';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import { parseBody, readEnvelope, type IncomingEnvelope } from './envelope.js';
import { errorMessageOf, InvalidMessageError, StillRunningError } from './errors.js';
import type { DeliveryObserver, DeliveryOutcome } from './delivery-report.js';
import { describeDelivery, FailureRouter } from './failure-router.js';
import { JobContext, throttleProgress } from './job-context.js';
import { startConsumerSpan, traceparentOf } from './trace-context.js';
import type { MessagePublisher } from './publisher.js';
import type { HandlerOptions, TransportOptions } from './transport-options.js';
import { RetryPolicy } from './retry-policy.js';
import {
  assertTopology,
  describeCoreTopology,
  describeWorkQueue,
  mergeTopologies,
  type Topology,
} from './topology.js';

interface Consumer {
  readonly pattern: string;
  readonly queue: string;
  readonly topology: Topology;
  readonly handler: MessageHandler;
  readonly policy: RetryPolicy;
  readonly prefetch: number;
  readonly lifecycle: boolean;
  wrapper?: ChannelWrapper;
  /** The raw channel deliveries currently arrive on; undefined while it is closed. */
  live?: AnyChannel;
  /** Settles deliveries on `live` (acks go out in bulk at the end of each event-loop turn). */
  acks?: Acknowledger;
  tag?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The Nest transport over RabbitMQ. Handlers are plain `@EventPattern` methods; this class alone decides
 * what happens to a delivery from how its handler ended: returned → `job.succeeded`, then ack;
 * `PermanentError` or an invalid message → dead-letter queue; anything else → the next retry tier, or the
 * dead-letter queue once attempts run out. Every republish is confirmed before the original is acked.
 */
export class AmqpTransport extends Server implements CustomTransportStrategy, BeforeApplicationShutdown {
  private readonly log = new Logger(AmqpTransport.name);
  private readonly consumers: Consumer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborts = new Set<AbortController>();
  private readonly failures: FailureRouter;
  private draining = false;
  private drained?: Promise<void>;
  private readonly observers: DeliveryObserver[] = [];
  private readonly cancellations: Cancellations;
  /** Lifecycle events leave in batches (`job.batch`). */
  private readonly lifecycle: LifecycleBatcher;
  private readonly leases: Leases;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly publisher: MessagePublisher,
    private readonly options: TransportOptions,
  ) {
    super();
    this.lifecycle = new LifecycleBatcher(publisher);
    this.failures = new FailureRouter(publisher, this.lifecycle, {
      names: options.names,
      failedBy: `${options.service}@${hostname()}/${process.pid}`,
      appId: options.service,
    });
    this.cancellations = new Cancellations(connection, options.names);
    this.leases = new Leases(
      publisher,
      this.failures,
      options.names,
      options.leaseAfterMs ?? DEFAULT_LEASE_AFTER_MS,
    );
  }

  /** True when the connection is up and every handler's consumer is attached to its queue. */
  get consumersAttached(): boolean {
    return (
      this.connection.isConnected() &&
      !this.draining &&
      this.consumers.every((c) => c.live !== undefined && c.tag !== undefined)
    );
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The queues this transport consumes, by their full names. */
  get queues(): readonly string[] {
    return this.consumers.map((c) => c.queue);
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    for (const [pattern, handler] of this.messageHandlers) {
      this.consumers.push(this.createConsumer(pattern, handler));
    }
    // Jobs can be cancelled: read the cancel requests before taking any job.
    if (this.consumers.some((c) => c.lifecycle)) this.cancellations.start();
    for (const consumer of this.consumers) {
      consumer.wrapper = this.connection.openChannel({
        name: `consume ${consumer.queue}`,
        confirm: false,
        setup: (channel) => this.attach(consumer, channel),
      });
    }
    this.log.log(`Consuming ${this.consumers.map((c) => c.queue).join(', ') || 'nothing'}`);
    callback();
  }

  observe(observer: DeliveryObserver): void {
    this.observers.push(observer);
  }

  /** Resolves once every consumer is attached (rejects after `timeoutMs`). */
  async waitUntilAttached(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.consumersAttached) {
      if (Date.now() > deadline) throw new Error(`Consumers not attached within ${timeoutMs} ms`);
      await sleep(25);
    }
  }

  on(): void {
    // Status is exposed through `consumersAttached`; there are no transport events to subscribe to.
  }

  // The signature is the abstract Server's.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  unwrap<T>(): T {
    return this.connection as T;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  close(): Promise<void> {
    return this.drain();
  }

  /** Stop consuming, let in-flight handlers finish (bounded by the grace), then close the channels. */
  drain(): Promise<void> {
    this.drained ??= this.drainOnce();
    return this.drained;
  }

  private async drainOnce(): Promise<void> {
    this.draining = true;
    await Promise.all(
      this.consumers.map(async (c) => {
        if (c.live && c.tag) await c.live.cancel(c.tag).catch(() => undefined);
        c.tag = undefined;
      }),
    );
    if (this.inFlight.size > 0) {
      this.log.log(`Draining ${this.inFlight.size} in-flight message(s)`);
      const settled = Promise.allSettled([...this.inFlight]).then(() => true);
      const finished = await Promise.race([
        settled,
        sleep(this.options.shutdownGraceMs, false, { ref: false }),
      ]);
      if (!finished) {
        this.log.warn(
          `Grace of ${this.options.shutdownGraceMs} ms over: aborting ${this.inFlight.size} handler(s)`,
        );
        for (const controller of this.aborts) controller.abort(new Error('shutting down'));
        await Promise.race([settled, sleep(1000, false, { ref: false })]);
      }
    }
    // Anything still unacked is requeued by the broker when its channel closes.
    for (const consumer of this.consumers) consumer.acks?.flush();
    await Promise.all(
      this.consumers.flatMap((c) => (c.wrapper ? [this.connection.closeChannel(c.wrapper)] : [])),
    );
    await this.cancellations.stop();
  }

  private createConsumer(pattern: string, handler: MessageHandler): Consumer {
    const extras = (handler.extras ?? {}) as HandlerOptions;
    const contract = contractFor(pattern);
    const isCommand = contract?.kind === 'command';
    const queue = this.options.names.workQueue(this.options.service, extras.queue ?? pattern);
    const exchange = isCommand ? 'commands' : 'events';
    return {
      pattern,
      queue,
      handler,
      // The exchanges too: this channel may set up before the publisher's has declared them.
      topology: mergeTopologies([
        describeCoreTopology(this.options.names),
        describeWorkQueue(
          this.options.names,
          { name: queue, bindings: [{ exchange, pattern }] },
          // The lease has its wait queue beside the retry tiers' (the same one if a tier equals it).
          [...new Set([...this.options.retryTiers, this.leases.afterMs])],
        ),
      ]),
      policy: new RetryPolicy(
        extras.retry?.maxAttempts ?? this.options.defaultMaxAttempts ?? 5,
        this.options.retryTiers,
      ),
      prefetch: extras.prefetch ?? this.options.defaultPrefetch ?? 10,
      lifecycle: extras.lifecycle ?? isCommand,
    };
  }

  /** Runs on every (re)opened channel of a consumer. */
  private async attach(consumer: Consumer, channel: AnyChannel): Promise<void> {
    consumer.live = channel;
    consumer.acks = new Acknowledger(channel);
    consumer.tag = undefined;
    channel.once('close', () => {
      if (consumer.live === channel) {
        consumer.live = undefined;
        consumer.acks = undefined;
        consumer.tag = undefined;
      }
    });
    await assertTopology(channel, consumer.topology);
    if (consumer.lifecycle) await this.cancellations.ready(10_000);
    if (this.draining) return;
    await channel.prefetch(consumer.prefetch, false);
    await this.consume(consumer, channel);
  }

  private async consume(consumer: Consumer, channel: AnyChannel): Promise<void> {
    const { consumerTag } = await channel.consume(
      consumer.queue,
      (message) => {
        if (!message) {
          void this.reattach(consumer, channel);
          return;
        }
        consumer.acks?.delivered(message);
        this.track(this.process(consumer, channel, message));
      },
      { noAck: false },
    );
    consumer.tag = consumerTag;
  }

  /** The broker cancelled our consumer (its queue was deleted): declare it again and resume. */
  private async reattach(consumer: Consumer, channel: AnyChannel): Promise<void> {
    consumer.tag = undefined;
    if (this.draining || consumer.live !== channel) return;
    this.log.warn(`Consumer on ${consumer.queue} was cancelled by the broker; re-declaring and re-consuming`);
    try {
      await assertTopology(channel, consumer.topology);
      await this.consume(consumer, channel);
    } catch (error) {
      // The channel is closed by now; the connection layer re-opens it and `attach` runs again.
      this.log.error(`Re-consuming ${consumer.queue} failed: ${errorMessageOf(error)}`);
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async process(consumer: Consumer, channel: AnyChannel, message: ConsumeMessage): Promise<void> {
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
    if (jobId && leaseId !== undefined && this.cancellations.isLeaseDone(leaseId)) {
      // A lease copy whose holder finished the job: nothing left to do.
      this.settle(consumer, channel, message, 'ack');
      span?.end();
      return;
    }
    // A job that runs long gives its delivery back before the broker's consumer_timeout could close the
    // channel: a delayed copy (the lease) goes to the wait queue, then the original is acked.
    let released: Promise<string | undefined> | undefined;
    const leaseTimer = jobId
      ? setTimeout(() => {
          released = this.leases.release(consumer.queue, message, envelope, leaseId, () => {
            this.settle(consumer, channel, message, 'ack');
          });
        }, this.leases.afterMs)
      : undefined;
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.handle(consumer, message, envelope, jobId, leaseId !== undefined);
    } catch (error) {
      // An outcome we depend on (a retry, a dead-letter, a lifecycle event) was not confirmed: the message
      // must come back. The pause keeps a broker in trouble from spinning us.
      this.log.error(`${describeDelivery(consumer.queue, envelope)}: ${errorMessageOf(error)}; requeueing`);
      if (!this.draining) await sleep(this.options.requeueDelayMs ?? 1000);
      outcome = 'requeued';
    } finally {
      clearTimeout(leaseTimer);
    }
    const lease = await released;
    if (lease === undefined) {
      this.settle(consumer, channel, message, outcome === 'requeued' ? 'requeue' : 'ack');
    } else if (outcome !== 'requeued') {
      // Acked already; its lease copy must not run the job again.
      await this.leases.markDone(lease, jobId);
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
  ): Promise<DeliveryOutcome> {
    let payload: unknown;
    try {
      payload = this.decode(consumer, envelope, message.content);
    } catch (error) {
      await this.failures.deadLetter(
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

    const meta = { jobId, tenant: envelope.tenant, traceparent: envelope.traceparent };
    if (jobId && this.cancellations.isCancelled(jobId)) {
      // Cancelled while it waited (queued, scheduled or between retries): it never starts.
      await this.cancelled(jobId, envelope, envelope.attempt - 1);
      return 'cancelled';
    }
    const controller = new AbortController();
    this.aborts.add(controller);
    const untrack = jobId ? this.cancellations.track(jobId, controller) : undefined;
    try {
      // A lease copy continues its attempt (it was counted when that attempt started). The start goes out
      // while the job runs, not before: a fast job's start and end then travel in one batch (and become one
      // change of its record). Its confirm is awaited with the end's, or before a failure is routed.
      const started =
        jobId && !continuation
          ? this.lifecycle.publish('job.started', { jobId, attempt: envelope.attempt, at: now() }, meta)
          : undefined;
      started?.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
      const progress = throttleProgress((percent) => {
        if (!jobId) return;
        this.lifecycle
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

      let result: unknown;
      try {
        result = await this.invoke(consumer.handler, payload, context);
      } catch (error) {
        await started;
        if (jobId && controller.signal.reason instanceof JobCancelledError) {
          await this.cancelled(jobId, envelope, envelope.attempt);
          return 'cancelled';
        }
        if (this.draining && controller.signal.aborted) return 'requeued';
        if (jobId && error instanceof StillRunningError) {
          // Another delivery of this job runs right now: look again one lease later, using up nothing.
          await this.leases.publish(consumer.queue, message, envelope, leaseIdOf(envelope) ?? randomUUID());
          return 'leased';
        }
        return await this.failures.route(consumer.queue, consumer.policy, message, envelope, error, jobId);
      }
      if (jobId) {
        // Finished before the cancel could stop it: it keeps its success. Events leave in the order they
        // were published; both confirms are awaited (an unconfirmed start requeues the job, like before).
        const json = toJson(result);
        await Promise.all([
          started,
          this.lifecycle.publish(
            'job.succeeded',
            { jobId, attempt: envelope.attempt, result: json, at: now() },
            meta,
          ),
        ]);
        await this.notifyEnded(jobId, envelope, { status: 'succeeded', result: json });
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
    await this.lifecycle.publish(
      'job.cancelled',
      { jobId, attempt: Math.max(0, attempt), at: now() },
      { tenant: envelope.tenant, traceparent: envelope.traceparent },
    );
    await this.notifyEnded(jobId, envelope, { status: 'cancelled' });
  }

  private notifyEnded(
    jobId: string,
    envelope: IncomingEnvelope,
    outcome: Pick<JobEnded, 'status' | 'result'>,
  ): Promise<void> {
    return notifyJobEnded(this.publisher, jobId, envelope, outcome);
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

  private settle(
    consumer: Consumer,
    channel: AnyChannel,
    message: ConsumeMessage,
    settlement: 'ack' | 'requeue',
  ): void {
    // A delivery tag is only valid on the channel it came from; if that channel closed, the broker has
    // already requeued the message, and acking on a new channel would close that one too.
    const acks = consumer.acks;
    if (consumer.live !== channel || !acks) return;
    try {
      if (settlement === 'ack') acks.ack(message);
      else acks.requeue(message);
    } catch (error) {
      this.log.warn(`Could not ${settlement} a message on ${consumer.queue}: ${errorMessageOf(error)}`);
    }
  }
}

function now(): string {
  return new Date().toISOString();
}

/** The handler's return value as plain JSON (what `job.succeeded` carries as the job's result). */
function toJson(value: unknown): JobSucceeded['result'] {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JobSucceeded['result']);
}

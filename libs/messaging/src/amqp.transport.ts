import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import { contractFor } from '#contracts';
import { Acknowledger } from './acknowledger.js';
import { Cancellations } from './cancellations.js';
import type { Consumer } from './consumer.js';
import { DeliveryRunner } from './delivery-runner.js';
import { LifecycleBatcher } from './lifecycle-batcher.js';
import { DEFAULT_LEASE_AFTER_MS, Leases } from './leases.js';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import { readEnvelope } from './envelope.js';
import { errorMessageOf } from './errors.js';
import type { DeliveryObserver } from './delivery-report.js';
import { FailureRouter } from './failure-router.js';
import { isPack, unpack } from './pack.js';
import type { MessagePublisher } from './publisher.js';
import type { HandlerOptions, TransportOptions } from './transport-options.js';
import { RetryPolicy } from './retry-policy.js';
import { assertTopology, describeCoreTopology, describeWorkQueue, mergeTopologies } from './topology.js';

/**
 * The Nest transport over RabbitMQ. Handlers are plain `@EventPattern` methods; this class gives each one
 * a queue (declared with its retry tiers and dead-letter queue) and a consumer that survives reconnects
 * and broker-side cancels, hands every delivery to the {@link DeliveryRunner} (which alone decides from
 * how the handler ended whether to ack, retry or dead-letter), and drains on shutdown.
 */
export class AmqpTransport extends Server implements CustomTransportStrategy, BeforeApplicationShutdown {
  private readonly log = new Logger(AmqpTransport.name);
  private readonly consumers: Consumer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;
  private drained?: Promise<void>;
  private readonly cancellations: Cancellations;
  private readonly leases: Leases;
  private readonly failures: FailureRouter;
  private readonly deliveries: DeliveryRunner;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly publisher: MessagePublisher,
    private readonly options: TransportOptions,
  ) {
    super();
    // Lifecycle events leave in batches (`job.batch`).
    const lifecycle = new LifecycleBatcher(publisher);
    this.failures = new FailureRouter(publisher, lifecycle, {
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
    this.deliveries = new DeliveryRunner({
      publisher,
      lifecycle,
      failures: this.failures,
      cancellations: this.cancellations,
      leases: this.leases,
      requeueDelayMs: options.requeueDelayMs ?? 1000,
      isDraining: () => this.draining,
    });
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
    this.deliveries.observe(observer);
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
        this.deliveries.abortAll(new Error('shutting down'));
        await Promise.race([settled, sleep(1000, false, { ref: false })]);
      }
    }
    // Packs whose requeued commands are being published back are acked once that is confirmed.
    await Promise.race([
      Promise.all(this.consumers.flatMap((c) => (c.acks ? [c.acks.idle()] : []))),
      sleep(this.publisher.confirmTimeoutMs, undefined, { ref: false }),
    ]);
    // Anything still unacked is requeued by the broker when its channel closes.
    for (const consumer of this.consumers) {
      consumer.acks?.closeSoon();
      consumer.acks?.flush();
    }
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
    consumer.acks = new Acknowledger(channel, (parts) => this.requeueParts(consumer, channel, parts));
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
        if (this.draining) {
          // Arrived after the drain took its count of what runs (already on its way when the consumer was
          // cancelled, or from a consumer that attached meanwhile): nothing would wait for it, and the
          // channel would close under it. Back to the queue, untouched.
          requeueUnrun(channel, message);
          return;
        }
        const unpacked = this.unpacked(consumer, message);
        if (Array.isArray(unpacked)) {
          consumer.acks?.deliveredPack(message, unpacked);
          for (const part of unpacked) this.track(this.deliveries.run(consumer, channel, part));
          return;
        }
        consumer.acks?.delivered(message);
        this.track(this.deliveries.run(consumer, channel, message, unpacked));
      },
      { noAck: false },
    );
    consumer.tag = consumerTag;
    // The drain began while this consumer was attaching, after it cancelled the consumers it knew of.
    if (this.draining) {
      await channel.cancel(consumerTag).catch(() => undefined);
      consumer.tag = undefined;
    }
  }

  /**
   * A pack's commands that must run again, each published back to the consumer's queue as a message of
   * its own (the default exchange, confirmed, mandatory), with its headers as delivered: same attempt.
   * Rejects only while none of them is out, so that the whole pack may go back instead; once one is
   * confirmed, the pack must be acked (going back whole would run that one twice), so the others are
   * published again, with backoff, for as long as the pack's channel is open.
   */
  private async requeueParts(
    consumer: Consumer,
    channel: AnyChannel,
    parts: readonly ConsumeMessage[],
  ): Promise<void> {
    let left = parts;
    let confirmed = 0;
    for (let attempt = 0; ; attempt++) {
      const results = await Promise.allSettled(
        left.map((part) =>
          this.publisher.publishRaw({
            exchange: '',
            routingKey: consumer.queue,
            content: part.content,
            properties: this.failures.republished(part, readEnvelope(part), {}),
            mandatory: true,
          }),
        ),
      );
      const failed = left.filter((_, i) => results[i]?.status === 'rejected');
      confirmed += left.length - failed.length;
      if (failed.length === 0) return;
      const reason: unknown = results.find(
        (r): r is PromiseRejectedResult => r.status === 'rejected',
      )?.reason;
      if (confirmed === 0) {
        this.log.warn(
          `${parts.length} command(s) of a pack on ${consumer.queue} not published back (${errorMessageOf(reason)}); requeueing the whole pack`,
        );
        throw reason;
      }
      // Its channel closed: the broker has put the whole pack back (what was published runs twice).
      if (consumer.live !== channel) return;
      this.log.warn(
        `${failed.length} of ${parts.length} requeued command(s) of a pack on ${consumer.queue} not published back (${errorMessageOf(reason)}); trying again`,
      );
      await sleep(Math.min(1000 * 2 ** attempt, 5000));
      left = failed;
    }
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

  /**
   * A pack's commands as deliveries of their own (pack.ts); undefined for a single command. For a pack that
   * is malformed, why: it is then dead-lettered whole, as the one message it is, with that as its error.
   */
  private unpacked(consumer: Consumer, message: ConsumeMessage): ConsumeMessage[] | Error | undefined {
    if (!isPack(message)) return undefined;
    try {
      return unpack(message);
    } catch (error) {
      this.log.error(
        `Malformed pack on ${consumer.queue} (${errorMessageOf(error)}): dead-lettering it whole`,
      );
      return error instanceof Error ? error : new Error(errorMessageOf(error));
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}

/** Hands a delivery that was never run back to its queue (nothing to do if its channel has closed). */
function requeueUnrun(channel: AnyChannel, message: ConsumeMessage): void {
  try {
    channel.nack(message, false, true);
  } catch {
    // The channel closed: the broker has put it back already.
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { commandContracts, EVENT_SUBSCRIPTIONS } from '#contracts';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import { readEnvelope, type IncomingEnvelope } from './envelope.js';
import { errorMessageOf } from './errors.js';
import { isPack, unpack } from './pack.js';
import {
  assertTopology,
  describeCommandQueues,
  describeCoreTopology,
  describeSubscriptionQueues,
  mergeTopologies,
  type TopologyNames,
} from './topology.js';

/** A dead letter as it came off its queue: nothing parsed beyond the envelope, the body as bytes. */
export interface DeadLetter {
  /** The dead-letter queue it was read from. */
  readonly deadLetterQueue: string;
  /** The work queue it failed on (what its DLQ is named after). */
  readonly queue: string;
  /** Whether that queue is a command's (its letters are jobs that could not run), not an event's. */
  readonly commandQueue: boolean;
  readonly routingKey: string;
  readonly envelope: IncomingEnvelope;
  readonly content: Buffer;
}

export interface DeadLetterConsumerOptions {
  readonly names: TopologyNames;
  readonly retryTiers: readonly number[];
  readonly prefetch?: number;
  /** Pause before a dead letter the sink could not take is given back to its queue. */
  readonly requeueDelayMs?: number;
}

/**
 * Reads the dead-letter queue of every command queue and of every standing event subscription (a lifecycle
 * event the gateway's consumer died on ten times, a notification's event it refused) and hands each
 * message to `sink` (the gateway's archive).
 * No contract validation, no retries, no lifecycle events: a dead letter is stored as it is, however
 * malformed. It is acked once the sink resolved and given back to its queue (after a pause) when the
 * sink failed, so a database outage loses nothing; the sink must therefore be idempotent.
 */
export class DeadLetterConsumer {
  private readonly log = new Logger(DeadLetterConsumer.name);
  private wrapper?: ChannelWrapper;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  readonly queues: readonly {
    readonly queue: string;
    readonly deadLetterQueue: string;
    readonly commandQueue: boolean;
  }[];

  constructor(
    private readonly connection: AmqpConnection,
    private readonly options: DeadLetterConsumerOptions,
    private readonly sink: (letter: DeadLetter) => Promise<void>,
  ) {
    const { names } = options;
    const queues = [
      ...commandContracts().map((c) => ({
        queue: names.workQueue(c.consumer ?? 'unknown', c.name),
        commandQueue: true,
      })),
      ...EVENT_SUBSCRIPTIONS.map((s) => ({
        queue: names.workQueue(s.consumer, s.queue ?? s.pattern),
        commandQueue: false,
      })),
    ];
    this.queues = queues.map((q) => ({ ...q, deadLetterQueue: names.deadLetterQueue(q.queue) }));
  }

  start(): void {
    this.wrapper ??= this.connection.openChannel({
      name: 'consume dead letters',
      confirm: false,
      setup: (channel) => this.attach(channel),
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inFlight]);
    if (this.wrapper) await this.connection.closeChannel(this.wrapper);
  }

  private async attach(channel: AnyChannel): Promise<void> {
    const { names, retryTiers } = this.options;
    await assertTopology(
      channel,
      mergeTopologies([
        describeCoreTopology(names),
        describeCommandQueues(names, retryTiers),
        describeSubscriptionQueues(names, retryTiers),
      ]),
    );
    await channel.prefetch(this.options.prefetch ?? 50, false);
    for (const queue of this.queues) {
      await channel.consume(
        queue.deadLetterQueue,
        (message) => {
          if (message) this.track(this.take(channel, message, queue));
        },
        { noAck: false },
      );
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async take(
    channel: AnyChannel,
    message: ConsumeMessage,
    { queue, deadLetterQueue, commandQueue }: DeadLetterConsumer['queues'][number],
  ): Promise<void> {
    try {
      for (const letter of lettersOf(message)) {
        await this.sink({
          deadLetterQueue,
          queue,
          commandQueue,
          routingKey: letter.fields.routingKey,
          envelope: readEnvelope(letter),
          content: letter.content,
        });
      }
      channel.ack(message);
    } catch (error) {
      this.log.warn(`Dead letter from ${deadLetterQueue} not archived: ${errorMessageOf(error)}; requeueing`);
      if (!this.stopping) await sleep(this.options.requeueDelayMs ?? 1000);
      try {
        channel.nack(message, false, true);
      } catch {
        // The channel closed meanwhile: the broker has requeued it already.
      }
    }
  }
}

/**
 * The dead letters a message holds: itself, or — for a pack the broker dead-lettered whole (its delivery
 * limit ran out) — each of its commands, with the pack's broker headers (`x-first-death-reason`, …) on
 * each. A malformed pack is kept as it is.
 */
function lettersOf(message: ConsumeMessage): ConsumeMessage[] {
  if (!isPack(message)) return [message];
  let parts: ConsumeMessage[];
  try {
    parts = unpack(message);
  } catch {
    return [message];
  }
  const broker = Object.fromEntries(
    Object.entries(message.properties.headers ?? {}).filter(([key]) => key.startsWith('x-')),
  );
  return parts.map((part) => ({
    ...part,
    properties: { ...part.properties, headers: { ...part.properties.headers, ...broker } },
  }));
}

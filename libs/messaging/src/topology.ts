import { formatDuration } from '#config';
import { commandContracts, EVENT_SUBSCRIPTIONS } from '#contracts';

export interface ExchangeDeclaration {
  readonly name: string;
  readonly type: 'topic' | 'direct' | 'fanout';
  readonly arguments: Record<string, string>;
}

export interface QueueDeclaration {
  readonly name: string;
  readonly arguments: Record<string, string | number>;
}

export interface BindingDeclaration {
  readonly queue: string;
  readonly exchange: string;
  readonly pattern: string;
}

export interface Topology {
  readonly exchanges: readonly ExchangeDeclaration[];
  readonly queues: readonly QueueDeclaration[];
  readonly bindings: readonly BindingDeclaration[];
}

/** A consumer's work queue and what routes into it. */
export interface WorkQueue {
  readonly name: string;
  readonly bindings: readonly { readonly exchange: 'commands' | 'events'; readonly pattern: string }[];
}

/**
 * A safety net for a message that kills its worker before the transport can nack it (quorum queues count
 * redeliveries). Normal retries are republished with a fresh delivery count, so this only trips on crashes.
 */
export const DELIVERY_LIMIT = 10;

// Quorum queues dead-letter at-most-once by default; at-least-once needs reject-publish overflow.
const quorum = {
  'x-queue-type': 'quorum',
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
} as const;

export class TopologyNames {
  constructor(readonly prefix: string) {}

  get commands(): string {
    return `${this.prefix}.commands`;
  }
  get events(): string {
    return `${this.prefix}.events`;
  }
  get unrouted(): string {
    return `${this.prefix}.unrouted`;
  }
  get retry(): string {
    return `${this.prefix}.retry`;
  }
  get dead(): string {
    return `${this.prefix}.dead`;
  }

  /** `<prefix>.<consumer>.<message>`, e.g. `conveyor.report-service.report.generate`. */
  workQueue(consumer: string, message: string): string {
    return `${this.prefix}.${consumer}.${message}`;
  }

  waitQueue(queue: string, delayMs: number): string {
    return `${queue}.wait.${formatDuration(delayMs)}`;
  }

  /** The retry exchange's routing key for one queue's tier (bound to exactly that wait queue). */
  retryKey(queue: string, delayMs: number): string {
    return `${queue}.${formatDuration(delayMs)}`;
  }

  /** The control stream: cancel requests every worker process reads (and re-reads from the start). */
  get control(): string {
    return `${this.prefix}.control`;
  }

  deadLetterQueue(queue: string): string {
    return `${queue}.dlq`;
  }
}

/** The exchanges every process needs, plus the queue that catches unroutable commands. */
export function describeCoreTopology(names: TopologyNames): Topology {
  return {
    exchanges: [
      { name: names.unrouted, type: 'fanout', arguments: {} },
      { name: names.commands, type: 'topic', arguments: { 'alternate-exchange': names.unrouted } },
      { name: names.events, type: 'topic', arguments: {} },
      { name: names.retry, type: 'direct', arguments: {} },
      { name: names.dead, type: 'direct', arguments: {} },
    ],
    queues: [
      { name: names.unrouted, arguments: { 'x-queue-type': 'quorum' } },
      // A stream, not a queue: every worker reads all of it, and one that starts later reads what it
      // missed (a day of cancels), so a cancelled job's command never runs on a fresh worker either.
      {
        name: names.control,
        arguments: { 'x-queue-type': 'stream', 'x-max-age': '1D', 'x-max-length-bytes': 100_000_000 },
      },
    ],
    bindings: [
      { queue: names.unrouted, exchange: names.unrouted, pattern: '' },
      { queue: names.control, exchange: names.events, pattern: 'control.#' },
    ],
  };
}

/** One work queue with its retry wait queues (one per tier) and its dead-letter queue. */
export function describeWorkQueue(
  names: TopologyNames,
  queue: WorkQueue,
  tiers: readonly number[],
): Topology {
  const dlq = names.deadLetterQueue(queue.name);
  const queues: QueueDeclaration[] = [
    {
      name: queue.name,
      arguments: {
        ...quorum,
        'x-delivery-limit': DELIVERY_LIMIT,
        'x-dead-letter-exchange': names.dead,
        'x-dead-letter-routing-key': queue.name,
      },
    },
    { name: dlq, arguments: { 'x-queue-type': 'quorum' } },
  ];
  const bindings: BindingDeclaration[] = [
    ...queue.bindings.map((b) => ({ queue: queue.name, exchange: names[b.exchange], pattern: b.pattern })),
    { queue: dlq, exchange: names.dead, pattern: queue.name },
  ];
  for (const delay of new Set(tiers)) {
    // Expired messages go through the default exchange straight back to the one queue that failed, so a
    // retry never fans out to the event's other subscribers again. One TTL per queue: per-message TTLs
    // only expire from the head and would stall behind longer ones.
    const wait = names.waitQueue(queue.name, delay);
    queues.push({
      name: wait,
      arguments: {
        ...quorum,
        'x-message-ttl': delay,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue.name,
      },
    });
    bindings.push({ queue: wait, exchange: names.retry, pattern: names.retryKey(queue.name, delay) });
  }
  return { exchanges: [], queues, bindings };
}

/** Every command's work queue, so a publisher never sends a command before its queue exists. */
export function describeCommandQueues(names: TopologyNames, tiers: readonly number[]): Topology {
  return mergeTopologies(
    commandContracts().map((c) =>
      describeWorkQueue(
        names,
        {
          name: names.workQueue(c.consumer ?? 'unknown', c.name),
          bindings: [{ exchange: 'commands', pattern: c.name }],
        },
        tiers,
      ),
    ),
  );
}

/** Every standing event subscription's queue (contracts' `EVENT_SUBSCRIPTIONS`), declared by publishers. */
export function describeSubscriptionQueues(names: TopologyNames, tiers: readonly number[]): Topology {
  return mergeTopologies(
    EVENT_SUBSCRIPTIONS.map((s) =>
      describeWorkQueue(
        names,
        {
          name: names.workQueue(s.consumer, s.queue ?? s.pattern),
          bindings: [{ exchange: 'events', pattern: s.pattern }],
        },
        tiers,
      ),
    ),
  );
}

export function mergeTopologies(parts: readonly Topology[]): Topology {
  return {
    exchanges: parts.flatMap((p) => p.exchanges),
    queues: parts.flatMap((p) => p.queues),
    bindings: parts.flatMap((p) => p.bindings),
  };
}

/** The few channel operations declaring needs (amqplib's `Channel` fits). */
export interface DeclaringChannel {
  assertExchange(name: string, type: string, options: object): Promise<unknown>;
  assertQueue(name: string, options: object): Promise<unknown>;
  bindQueue(queue: string, exchange: string, pattern: string): Promise<unknown>;
}

/** Declares idempotently: the same declaration with the same arguments is a no-op on the broker. */
export async function assertTopology(channel: DeclaringChannel, topology: Topology): Promise<void> {
  for (const e of dedupe(topology.exchanges, (x) => x.name)) {
    await channel.assertExchange(e.name, e.type, { durable: true, arguments: e.arguments });
  }
  for (const q of dedupe(topology.queues, (x) => x.name)) {
    await channel.assertQueue(q.name, { durable: true, arguments: q.arguments });
  }
  for (const b of dedupe(topology.bindings, (x) => `${x.queue}|${x.exchange}|${x.pattern}`)) {
    await channel.bindQueue(b.queue, b.exchange, b.pattern);
  }
}

function dedupe<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

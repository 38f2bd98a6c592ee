import { Logger } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { packable, parsePayload, type Contract, type PayloadOf } from '#contracts';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import {
  buildEnvelope,
  type EnvelopeMeta,
  type EnvelopeProperties,
  type OutgoingMessage,
} from './envelope.js';
import { PublishFailedError, UnroutableMessageError } from './errors.js';
import { encodePack, MAX_PACK } from './pack.js';
import { assertTopology, type Topology, type TopologyNames } from './topology.js';

export interface PublisherOptions {
  readonly names: TopologyNames;
  readonly appId: string;
  readonly confirmTimeoutMs: number;
  /** Declared on every (re)connect before anything is published. */
  readonly topology: Topology;
}

export interface RawPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly properties: EnvelopeProperties;
  /** Unroutable → {@link UnroutableMessageError} instead of a silent drop. */
  readonly mandatory?: boolean;
}

/** A packable command waiting for the end of the event-loop turn, and its caller. */
interface Packing {
  readonly message: OutgoingMessage;
  readonly confirmed: () => void;
  readonly failed: (error: unknown) => void;
}

/**
 * Every publish is persistent and confirmed: the returned promise resolves only when the broker has taken
 * responsibility for the message, and rejects when it did not (nack, timeout, unroutable when mandatory).
 *
 * Commands whose contract packs them (PackPolicy) and that are published in the same turn of the event
 * loop — the jobs of one group commit, say — go out together as packs (pack.ts); each caller's promise
 * settles with its pack's confirm.
 */
export class MessagePublisher {
  private readonly logger = new Logger(MessagePublisher.name);
  private readonly channel: ChannelWrapper;
  /** messageIds the broker returned as unroutable; the confirm that follows a return checks here. */
  private readonly returned = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private declared = false;
  private readonly packing = new Map<Contract, Packing[]>();
  private packingFlush?: NodeJS.Immediate;
  /** How long a publish waits for its confirm before it fails (`PUBLISH_CONFIRM_TIMEOUT`). */
  readonly confirmTimeoutMs: number;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly options: PublisherOptions,
  ) {
    this.confirmTimeoutMs = options.confirmTimeoutMs;
    this.channel = connection.openChannel({
      name: 'publisher',
      confirm: true,
      publishTimeoutMs: options.confirmTimeoutMs,
      setup: async (channel: AnyChannel) => {
        this.declared = false;
        channel.once('close', () => (this.declared = false));
        channel.on('return', (message: { properties: { messageId?: unknown } }) => {
          const id = message.properties.messageId;
          if (typeof id === 'string') this.returned.add(id);
        });
        await assertTopology(channel, options.topology);
        this.declared = true;
      },
    });
  }

  /** Connected, with the topology declared on the current channel: a publish now can be routed. */
  get isReady(): boolean {
    return this.declared && this.connection.isConnected();
  }

  get names(): TopologyNames {
    return this.options.names;
  }

  /** Validates `payload` against its contract and publishes it to the commands or events exchange. */
  async publish<C extends Contract>(
    contract: C,
    payload: PayloadOf<C>,
    meta: EnvelopeMeta = {},
  ): Promise<void> {
    await this.publishValidated(contract, parsePayload(contract, payload), meta);
  }

  /**
   * {@link publish} for a payload that is already the output of its contract's schema (parsed by the
   * caller a moment ago), so it is not parsed a second time.
   */
  async publishValidated<C extends Contract>(
    contract: C,
    valid: PayloadOf<C>,
    meta: EnvelopeMeta = {},
  ): Promise<void> {
    const message = buildEnvelope(contract, valid, meta, this.options.appId);
    if (packable(contract, valid)) {
      await this.packed(contract, message);
      return;
    }
    await this.publishRaw({ exchange: this.exchangeOf(contract), routingKey: contract.name, ...message });
  }

  private exchangeOf(contract: Contract): string {
    return contract.kind === 'command' ? this.options.names.commands : this.options.names.events;
  }

  /** Holds a packable command until the end of this event-loop turn (see {@link flushPacks}). */
  private packed(contract: Contract, message: OutgoingMessage): Promise<void> {
    const waiting = this.packing.get(contract) ?? [];
    this.packing.set(contract, waiting);
    this.packingFlush ??= setImmediate(() => {
      this.flushPacks();
    });
    return new Promise<void>((resolve, reject) => {
      waiting.push({ message, confirmed: resolve, failed: reject });
    });
  }

  /** Publishes the held commands, up to their contract's `pack.max` per message (one alone goes as is). */
  private flushPacks(): void {
    clearImmediate(this.packingFlush);
    this.packingFlush = undefined;
    const packing = [...this.packing];
    this.packing.clear();
    for (const [contract, waiting] of packing) {
      const max = Math.min(contract.pack?.max ?? 1, MAX_PACK);
      for (let from = 0; from < waiting.length; from += max) {
        const pack = waiting.slice(from, from + max);
        const message =
          pack.length === 1
            ? (pack[0] as Packing).message
            : encodePack(
                contract,
                pack.map((p) => p.message),
                this.options.appId,
              );
        this.publishRaw({ exchange: this.exchangeOf(contract), routingKey: contract.name, ...message }).then(
          () => {
            for (const p of pack) p.confirmed();
          },
          (error: unknown) => {
            for (const p of pack) p.failed(error);
          },
        );
      }
    }
  }

  publishRaw(message: RawPublish): Promise<void> {
    const done = this.confirm(message);
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done)).catch(() => undefined);
    return done;
  }

  private async confirm({ exchange, routingKey, content, properties, mandatory }: RawPublish): Promise<void> {
    try {
      await this.channel.publish(exchange, routingKey, content, {
        ...properties,
        mandatory: mandatory ?? false,
      });
    } catch (error) {
      if (mandatory) this.returned.delete(properties.messageId); // returned, then not confirmed either
      throw new PublishFailedError(exchange, routingKey, { cause: error });
    }
    // The broker sends basic.return before the basic.ack of the same message.
    if (mandatory && this.returned.delete(properties.messageId)) {
      throw new UnroutableMessageError(exchange, routingKey);
    }
  }

  /** Waits (bounded) for publishes already under way, then closes the channel. */
  async close(timeoutMs = 5000): Promise<void> {
    this.flushPacks();
    if (this.pending.size > 0) {
      this.logger.log(`Waiting for ${this.pending.size} publish confirm(s) before closing`);
      await Promise.race([
        Promise.allSettled([...this.pending]),
        new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    await this.connection.closeChannel(this.channel);
  }
}

import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';

export type AnyChannel = Channel | ConfirmChannel;

export interface ChannelSpec {
  readonly name: string;
  readonly confirm: boolean;
  /** Runs on every (re)opened channel: declare what you need, start consuming. */
  readonly setup: (channel: AnyChannel) => Promise<void>;
  /** Publish confirms (or queued publishes) older than this reject. */
  readonly publishTimeoutMs?: number;
}

export interface AmqpConnectionOptions {
  readonly url: string;
  /** Shown in the broker's connection list (and used by tests to close exactly their own connections). */
  readonly connectionName: string;
  readonly heartbeatSeconds?: number;
}

/**
 * amqp-connection-manager re-creates channels after a reconnect, but a channel the broker closes while the
 * connection stays up (consumer_timeout, a 404 on a deleted exchange, a 406) stays dead until the next
 * reconnect. It has no public way to re-open one; its own reconnect path is `_onConnect`, which keeps the
 * queued and unconfirmed publishes, so we call that, narrowly typed, with backoff.
 */
interface ReopenableChannelWrapper {
  _channel?: AnyChannel;
  _onConnect(event: { connection: ChannelModel }): Promise<void>;
}

const REOPEN_DELAYS_MS = [100, 500, 1000, 2000, 5000];

/** The one AMQP connection of a process, and the channels on it. */
export class AmqpConnection {
  private readonly logger = new Logger(AmqpConnection.name);
  private readonly manager: AmqpConnectionManager;
  private readonly channels = new Set<ChannelWrapper>();
  private closing = false;
  private blockedBy?: string;

  constructor(readonly options: AmqpConnectionOptions) {
    this.manager = amqp.connect([options.url], {
      heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 10,
      reconnectTimeInSeconds: 1,
      connectionOptions: { clientProperties: { connection_name: options.connectionName } },
    });
    this.manager.on('connect', ({ connection }: { connection: ChannelModel }) => {
      coalesceWrites(connection);
      this.logger.log(`Connected to RabbitMQ as ${options.connectionName}`);
    });
    this.manager.on('disconnect', ({ err }: { err?: Error }) => {
      this.blockedBy = undefined; // a new connection starts unblocked
      if (!this.closing) this.logger.warn(`Disconnected from RabbitMQ: ${err?.message ?? 'closed'}`);
    });
    // A memory or disk alarm: the broker stops reading this connection (publishes, and the acks that share
    // it) until it clears. Said loudly, since everything on this connection waits meanwhile.
    this.manager.on('blocked', ({ reason }: { reason?: string }) => {
      this.blockedBy = reason ?? 'no reason given';
      this.logger.warn(
        `RabbitMQ blocked this connection (${this.blockedBy}): publishes and acks wait until it lifts`,
      );
    });
    this.manager.on('unblocked', () => {
      this.logger.log(`RabbitMQ unblocked this connection (was: ${this.blockedBy ?? 'unknown'})`);
      this.blockedBy = undefined;
    });
    this.manager.on('connectFailed', ({ err }: { err?: Error }) => {
      if (!this.closing) this.logger.warn(`Cannot connect to RabbitMQ: ${err?.message ?? 'unknown error'}`);
    });
  }

  isConnected(): boolean {
    return this.manager.isConnected();
  }

  /** Why the broker is blocking this connection right now (a resource alarm), if it is. */
  get blocked(): string | undefined {
    return this.blockedBy;
  }

  /** Resolves once connected (rejects after `timeoutMs`). */
  async waitForConnect(timeoutMs = 30_000): Promise<void> {
    if (this.isConnected()) return;
    await withTimeout(
      new Promise<void>((resolve) =>
        this.manager.once('connect', () => {
          resolve();
        }),
      ),
      timeoutMs,
      `RabbitMQ at ${redactUrl(this.options.url)} did not accept a connection within ${timeoutMs} ms`,
    );
  }

  openChannel(spec: ChannelSpec): ChannelWrapper {
    let failures = 0;
    const wrapper: ChannelWrapper = this.manager.createChannel({
      name: spec.name,
      confirm: spec.confirm,
      json: false,
      ...(spec.publishTimeoutMs === undefined ? {} : { publishTimeout: spec.publishTimeoutMs }),
      setup: async (channel: AnyChannel) => {
        const connection = this.manager.connection;
        // Without an 'error' listener a channel-level error (404, 406) is rethrown by the emitter and
        // takes the whole connection down with it; the channel closes either way and is re-opened below.
        channel.on('error', (error: Error) => {
          this.logger.warn(`Channel ${spec.name}: ${error.message}`);
        });
        channel.once('close', () => {
          if (connection) this.reopenIfBrokerClosed(wrapper, connection, spec.name, failures++);
        });
        await spec.setup(channel);
        failures = 0;
      },
    });
    wrapper.on('error', (error: Error) => {
      // A channel we are closing on purpose may fail its in-flight setup; that is not worth an error.
      if (this.channels.has(wrapper)) this.logger.error(`Channel ${spec.name}: ${error.message}`);
    });
    this.channels.add(wrapper);
    return wrapper;
  }

  private reopenIfBrokerClosed(
    wrapper: ChannelWrapper,
    connection: ChannelModel,
    name: string,
    failures: number,
  ): void {
    const delay = REOPEN_DELAYS_MS[Math.min(failures, REOPEN_DELAYS_MS.length - 1)] ?? 5000;
    setTimeout(() => {
      const reopenable = wrapper as unknown as ReopenableChannelWrapper;
      // A closed connection is the manager's to handle: it reconnects and re-runs every setup.
      if (this.closing || !this.channels.has(wrapper) || reopenable._channel) return;
      if (this.manager.connection !== connection || !this.manager.isConnected()) return;
      this.logger.warn(`Channel ${name} was closed by the broker; re-opening it`);
      reopenable._onConnect({ connection }).catch((error: unknown) => {
        this.logger.error(`Re-opening channel ${name} failed: ${String(error)}`);
      });
    }, delay).unref();
  }

  async closeChannel(wrapper: ChannelWrapper): Promise<void> {
    this.channels.delete(wrapper);
    await wrapper.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all([...this.channels].map((c) => this.closeChannel(c)));
    await this.manager.close();
  }
}

/**
 * amqplib writes every frame to the socket on its own (a publish is two or three writes, an ack one), so a
 * busy process spends much of its time in write syscalls. Corking the socket at the first write of a tick
 * and uncorking on the next tick sends everything written in between as one writev.
 */
function coalesceWrites(connection: ChannelModel): void {
  const socket = (connection as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  if (!(socket instanceof Writable)) return;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  socket.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write(...args);
  }) as typeof socket.write;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(message));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

import type { ChannelWrapper } from 'amqp-connection-manager';
import { withTimeout, type AmqpConnection } from './amqp-connection.js';

export interface QueueDepth {
  /** Messages ready for delivery (a passive declare does not count unacked ones). */
  readonly ready: number;
  readonly consumers: number;
}

/** Reads queue depth with passive declares on a channel of its own (for metrics; never declares anything). */
export class QueueInspector {
  private channel?: ChannelWrapper;
  /** One wait for the channel, shared by every read that needs it (each wait is a listener on it). */
  private opening?: Promise<void>;

  constructor(private readonly connection: AmqpConnection) {}

  async depth(queue: string): Promise<QueueDepth | undefined> {
    if (!this.connection.isConnected()) return undefined;
    this.channel ??= this.connection.openChannel({
      name: 'inspect',
      confirm: false,
      setup: () => Promise.resolve(),
    });
    try {
      await (this.opening ??= withTimeout(
        this.channel.waitForConnect(),
        1000,
        'inspect channel not open',
      ).finally(() => (this.opening = undefined)));
      // A broker that stopped answering would hold this until the connection's heartbeats give up.
      const { messageCount, consumerCount } = await withTimeout(
        this.channel.checkQueue(queue),
        2000,
        'passive declare unanswered',
      );
      return { ready: messageCount, consumers: consumerCount };
    } catch {
      return undefined; // not declared (yet), or the channel is re-opening: no sample this time
    }
  }
}

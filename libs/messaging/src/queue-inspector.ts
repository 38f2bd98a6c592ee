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

  constructor(private readonly connection: AmqpConnection) {}

  async depth(queue: string): Promise<QueueDepth | undefined> {
    if (!this.connection.isConnected()) return undefined;
    this.channel ??= this.connection.openChannel({
      name: 'inspect',
      confirm: false,
      setup: () => Promise.resolve(),
    });
    try {
      await withTimeout(this.channel.waitForConnect(), 1000, 'inspect channel not open');
      const { messageCount, consumerCount } = await this.channel.checkQueue(queue);
      return { ready: messageCount, consumers: consumerCount };
    } catch {
      return undefined; // not declared (yet), or the channel is re-opening: no sample this time
    }
  }
}

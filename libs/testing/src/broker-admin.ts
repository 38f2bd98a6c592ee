import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';

const run = promisify(execFile);

export const TEST_RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A prefix unique to this test run, so runs on the shared broker never see each other's messages. */
export function randomPrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 40);
}

export interface QueueStats {
  readonly name: string;
  readonly ready: number;
  readonly unacked: number;
  readonly consumers: number;
}

/**
 * The test's view of the real broker: inspect queues, fetch messages, drop our connections, clean up.
 * Uses its own AMQP connection and `rabbitmqctl` (the management plugin is not enabled here).
 */
export class BrokerAdmin {
  private constructor(
    private readonly connection: ChannelModel,
    private channel: Channel,
  ) {}

  static async connect(url = TEST_RABBITMQ_URL): Promise<BrokerAdmin> {
    const connection = await amqplib.connect(url);
    return new BrokerAdmin(connection, await BrokerAdmin.openChannel(connection));
  }

  /** A 404 closes the channel and is also emitted as 'error', which must not crash the test process. */
  private static async openChannel(connection: ChannelModel): Promise<Channel> {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return channel;
  }

  /** Operations that may close the channel (a 404) get a fresh one next time. */
  private async use<T>(op: (channel: Channel) => Promise<T>): Promise<T> {
    try {
      return await op(this.channel);
    } catch (error) {
      this.channel = await BrokerAdmin.openChannel(this.connection);
      throw error;
    }
  }

  async queueStats(prefix: string): Promise<QueueStats[]> {
    const { stdout } = await run('rabbitmqctl', [
      'list_queues',
      '-q',
      '--formatter',
      'json',
      'name',
      'messages_ready',
      'messages_unacknowledged',
      'consumers',
    ]);
    const rows = JSON.parse(stdout) as {
      name: string;
      messages_ready: number;
      messages_unacknowledged: number;
      consumers: number;
    }[];
    return rows
      .filter((r) => r.name.startsWith(`${prefix}.`))
      .map((r) => ({
        name: r.name,
        ready: r.messages_ready,
        unacked: r.messages_unacknowledged,
        consumers: r.consumers,
      }));
  }

  async queue(name: string): Promise<QueueStats | undefined> {
    const prefix = name.split('.')[0] ?? name;
    return (await this.queueStats(prefix)).find((q) => q.name === name);
  }

  /** Takes one message off a queue (acked), or undefined if it is empty. */
  async get(queue: string): Promise<GetMessage | undefined> {
    return this.use(async (channel) => {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) return undefined;
      channel.ack(message);
      return message;
    });
  }

  async publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: amqplib.Options.Publish = {},
  ): Promise<void> {
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', () => undefined);
    try {
      channel.publish(exchange, routingKey, content, { persistent: true, ...options });
      await channel.waitForConfirms();
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Publishes every message on one confirm channel and waits for the broker to confirm them all. */
  async publishAll(
    messages: readonly {
      readonly exchange: string;
      readonly routingKey: string;
      readonly content: Buffer;
      readonly options?: amqplib.Options.Publish;
    }[],
  ): Promise<void> {
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', () => undefined);
    try {
      for (const m of messages) {
        if (!channel.publish(m.exchange, m.routingKey, m.content, { persistent: true, ...m.options })) {
          await new Promise((resolve) => channel.once('drain', resolve));
        }
      }
      await channel.waitForConfirms();
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async deleteQueue(name: string): Promise<void> {
    await this.use((channel) => channel.deleteQueue(name));
  }

  async deleteExchange(name: string): Promise<void> {
    await this.use((channel) => channel.deleteExchange(name));
  }

  /** Closes, from the broker's side, every client connection whose name starts with `prefix`. */
  async closeConnections(prefix: string): Promise<number> {
    // The JSON formatter prints pids in a form close_connection does not accept; the table form does.
    const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', 'pid', 'client_properties']);
    const ours = stdout
      .split('\n')
      .map((line) => /^(<[^>]+>)\t.*\{"connection_name","([^"]*)"\}/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null && (m[2] ?? '').startsWith(prefix))
      .map((m) => m[1] as string);
    for (const pid of ours) {
      await run('rabbitmqctl', ['close_connection', pid, 'test: dropping the connection on purpose']);
    }
    return ours.length;
  }

  /** Deletes every queue and exchange of a test prefix. */
  async deleteEverything(prefix: string): Promise<void> {
    const [queues, exchanges] = await Promise.all([
      run('rabbitmqctl', ['list_queues', '-q', '--formatter', 'json', 'name']),
      run('rabbitmqctl', ['list_exchanges', '-q', '--formatter', 'json', 'name']),
    ]);
    const names = (out: string) =>
      (JSON.parse(out) as { name: string }[]).map((r) => r.name).filter((n) => n.startsWith(`${prefix}.`));
    for (const q of names(queues.stdout)) await this.deleteQueue(q).catch(() => undefined);
    for (const e of names(exchanges.stdout)) await this.deleteExchange(e).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

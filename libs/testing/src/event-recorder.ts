import amqplib, { type ChannelModel } from 'amqplib';
import { TEST_RABBITMQ_URL } from './broker-admin.js';
import { waitFor } from './wait-for.js';

export interface RecordedEvent {
  readonly type: string;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, unknown>;
  readonly receivedAt: number;
}

interface BatchEntry {
  type: string;
  id: string;
  tenant?: string;
  traceparent?: string;
  body: Record<string, unknown>;
}

/** Listens on `<prefix>.events` like the gateway would, and keeps every event for assertions. */
export class EventRecorder {
  readonly events: RecordedEvent[] = [];

  private constructor(private readonly connection: ChannelModel) {}

  static async start(prefix: string, pattern = '#', url = TEST_RABBITMQ_URL): Promise<EventRecorder> {
    const connection = await amqplib.connect(url);
    const recorder = new EventRecorder(connection);
    const channel = await connection.createChannel();
    await channel.assertExchange(`${prefix}.events`, 'topic', { durable: true, arguments: {} });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, `${prefix}.events`, pattern);
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        const type = String(message.properties.type);
        const body = JSON.parse(message.content.toString('utf8')) as Record<string, unknown>;
        const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
        // Workers batch lifecycle events (`job.batch`): record each entry as the event it stands for.
        const entries =
          type === 'job.batch'
            ? (body.events as BatchEntry[]).map((e) => ({
                type: e.type,
                body: e.body,
                headers: { ...headers, 'event-id': e.id, tenant: e.tenant, traceparent: e.traceparent },
              }))
            : [{ type, body, headers }];
        for (const entry of entries) recorder.events.push({ ...entry, receivedAt: Date.now() });
        channel.ack(message);
      },
      { noAck: false },
    );
    return recorder;
  }

  ofJob(jobId: string, type?: string): RecordedEvent[] {
    return this.events.filter((e) => e.body.jobId === jobId && (type === undefined || e.type === type));
  }

  async waitForEvent(type: string, jobId: string, timeoutMs = 15_000): Promise<RecordedEvent> {
    return waitFor(() => this.ofJob(jobId, type)[0], { timeoutMs, description: `${type} for job ${jobId}` });
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

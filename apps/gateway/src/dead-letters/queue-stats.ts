import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AmqpConnection,
  MESSAGING_OPTIONS,
  QueueInspector,
  TopologyNames,
  waitTiers,
  errorMessageOf,
  type MessagingOptions,
} from '#messaging';
import { commandContracts } from '#contracts';
import type { GatewayConfig } from '../gateway.config.js';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';

/** One queue as `GET /v1/admin/queues` shows it; `null` where the source cannot tell. */
export interface QueueStats {
  name: string;
  messages: number | null;
  ready: number;
  unacked: number | null;
  consumers: number;
}

interface ManagementQueue {
  name: string;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
}

/**
 * Depth and consumers of every queue under the prefix. From RabbitMQ's management API when configured
 * (the only source of unacked counts, and it lists every queue, event subscriptions included); otherwise
 * from passive declares of the queues the topology defines (ready and consumers only).
 */
@Injectable()
export class QueueStatsReader {
  private readonly logger = new Logger(QueueStatsReader.name);
  private readonly inspector: QueueInspector;
  private readonly names: TopologyNames;

  constructor(
    @Inject(AmqpConnection) private readonly connection: AmqpConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.inspector = new QueueInspector(connection);
    this.names = new TopologyNames(options.prefix);
  }

  async all(): Promise<QueueStats[]> {
    if (this.config.RABBITMQ_MANAGEMENT_URL) {
      try {
        return await this.fromManagement(this.config.RABBITMQ_MANAGEMENT_URL);
      } catch (error) {
        this.logger.warn(`Management API unavailable (${errorMessageOf(error)}); using passive declares`);
      }
    }
    return this.fromDeclares();
  }

  private async fromManagement(base: string): Promise<QueueStats[]> {
    const url = new URL(base);
    const auth = Buffer.from(
      `${decodeURIComponent(url.username || 'guest')}:${decodeURIComponent(url.password || 'guest')}`,
    ).toString('base64');
    url.username = '';
    url.password = '';
    const vhost = encodeURIComponent(decodeURIComponent(new URL(this.options.url).pathname.slice(1)) || '/');
    const response = await fetch(
      new URL(
        `api/queues/${vhost}?columns=name,messages,messages_ready,messages_unacknowledged,consumers`,
        url.href.endsWith('/') ? url.href : `${url.href}/`,
      ),
      { headers: { authorization: `Basic ${auth}` }, signal: AbortSignal.timeout(3000) },
    );
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const queues = (await response.json()) as ManagementQueue[];
    return queues
      .filter((q) => q.name.startsWith(`${this.options.prefix}.`))
      .map((q) => {
        const ready = q.messages_ready ?? 0;
        const unacked = q.messages_unacknowledged ?? 0;
        return { name: q.name, messages: ready + unacked, ready, unacked, consumers: q.consumers ?? 0 };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private async fromDeclares(): Promise<QueueStats[]> {
    const work = [
      ...commandContracts().map((c) => this.names.workQueue(c.consumer ?? 'unknown', c.name)),
      this.names.workQueue('gateway', 'job-events'),
    ];
    const names = work.flatMap((queue) => [
      queue,
      ...waitTiers(this.options).map((tier) => this.names.waitQueue(queue, tier)),
      this.names.deadLetterQueue(queue),
    ]);
    const stats = await Promise.all(
      names.map(async (name): Promise<QueueStats | undefined> => {
        const depth = await this.inspector.depth(name);
        return (
          depth && { name, messages: null, ready: depth.ready, unacked: null, consumers: depth.consumers }
        );
      }),
    );
    const read = stats.filter((s) => s !== undefined);
    // The gateway declared its own queues at start: reading none of them means no broker to read from, which
    // an empty list would hide.
    if (!this.connection.isConnected() || read.length === 0) throw new BrokerUnavailableError();
    return read.sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** RabbitMQ cannot be read from right now (HTTP 503). */
export class BrokerUnavailableError extends Error {
  constructor() {
    super('RabbitMQ is unavailable; retry shortly');
    this.name = 'BrokerUnavailableError';
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { errorMessageOf } from '#messaging';
import { Metrics } from '#observability';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';
import type { GatewayConfig } from '../gateway.config.js';
import type { OutboxMessage, OutboxMeta } from './outbox.entity.js';
import { OutboxPublisher } from './outbox.publisher.js';

interface OutboxRow {
  id: string;
  job_id: string;
  message_type: string;
  payload: unknown;
  meta: OutboxMeta;
}

const BATCH = 500;

/**
 * Publishes what the fast path left behind (a crash between commit and publish, the broker down) about
 * every `OUTBOX_RELAY_INTERVAL`. Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of gateway
 * replicas relay without publishing the same row twice at the same time.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(OutboxPublisher) private readonly outbox: OutboxPublisher,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(Metrics) metrics: Metrics,
  ) {
    metrics.gauge(
      'conveyor_outbox_pending',
      'Commands committed but not yet confirmed by the broker',
      async () => {
        const rows = await this.db.query<{ n: string }[]>('SELECT count(*) AS n FROM gateway.outbox');
        return Number(rows[0]?.n ?? 0);
      },
    );
    metrics.gauge('conveyor_outbox_oldest_age_seconds', 'Age of the oldest unconfirmed command', async () => {
      const rows = await this.db.query<{ s: number | null }[]>(
        'SELECT extract(epoch FROM now() - min(created_at))::float8 AS s FROM gateway.outbox',
      );
      return rows[0]?.s ?? 0;
    });
  }

  onApplicationBootstrap(): void {
    if (this.timer) return; // the hook can run twice when a microservice is connected to the app
    this.timer = setInterval(() => {
      this.running ??= this.relayOnce()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.logger.warn(`Outbox relay pass failed: ${errorMessageOf(error)}`);
        })
        .finally(() => (this.running = undefined));
    }, this.config.OUTBOX_RELAY_INTERVAL);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: claim up to a batch of old unsent rows, publish them, delete the confirmed ones. */
  async relayOnce(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<OutboxRow[]>(
        `SELECT id, job_id, message_type, payload, meta FROM gateway.outbox
          WHERE due_at <= now()
          ORDER BY due_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
      );
      if (rows.length === 0) return 0;
      const published = await Promise.all(rows.map((r) => this.outbox.publish(toEntity(r))));
      const sent = rows.filter((_, i) => published[i]);
      const ids = sent.map((r) => r.id);
      if (ids.length > 0) {
        await tx.query(`DELETE FROM gateway.outbox WHERE id = ANY($1::uuid[])`, [ids]);
        // Delayed jobs become queued once their command is out.
        await tx.query(
          `UPDATE gateway.jobs SET status = 'queued', seq = seq + 1, updated_at = now()
            WHERE id = ANY($1::uuid[]) AND status = 'scheduled'`,
          [sent.map((r) => r.job_id)],
        );
        this.logger.log(
          `Relayed ${ids.length} outbox message(s): due delayed jobs, or what the fast path missed`,
        );
      }
      return ids.length;
    });
  }
}

function toEntity(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    jobId: row.job_id,
    messageType: row.message_type,
    payload: row.payload,
    meta: row.meta,
  };
}

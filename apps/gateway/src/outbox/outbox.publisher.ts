import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { contractFor } from '#contracts';
import { errorMessageOf, MessagePublisher } from '#messaging';
import type { OutboxEntity } from './outbox.entity.js';

/** Publishes outbox rows (confirmed) and marks them sent. Used by the fast path and by the relay. */
@Injectable()
export class OutboxPublisher {
  private readonly logger = new Logger(OutboxPublisher.name);

  constructor(
    @Inject(MessagePublisher) private readonly publisher: MessagePublisher,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /** Publishes one row; resolves true once the broker confirmed it. Never throws. */
  async publish(
    row: Pick<OutboxEntity, 'id' | 'jobId' | 'messageType' | 'payload' | 'meta'>,
  ): Promise<boolean> {
    const contract = contractFor(row.messageType);
    if (!contract) {
      this.logger.error(
        `Outbox row ${row.id} has unknown message type ${row.messageType}; leaving it unsent`,
      );
      return false;
    }
    try {
      await this.publisher.publish(contract, row.payload, {
        messageId: row.id,
        jobId: row.jobId,
        tenant: row.meta.tenant,
        maxAttempts: row.meta.maxAttempts,
        ...(row.meta.traceparent === undefined ? {} : { traceparent: row.meta.traceparent }),
      });
      return true;
    } catch (error) {
      this.logger.warn(`Outbox row ${row.id} (job ${row.jobId}) not published yet: ${errorMessageOf(error)}`);
      return false;
    }
  }

  /** The fast path right after a commit: publish now, mark sent; the relay covers whatever fails here. */
  async publishAndMark(
    row: Pick<OutboxEntity, 'id' | 'jobId' | 'messageType' | 'payload' | 'meta'>,
  ): Promise<void> {
    if (!(await this.publish(row))) return;
    await this.markSent([row.id]).catch((error: unknown) => {
      // Unmarked means the relay publishes it again: a duplicate message, which consumers absorb.
      this.logger.warn(`Outbox row ${row.id} published but not marked sent: ${errorMessageOf(error)}`);
    });
  }

  async markSent(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(
      `UPDATE gateway.outbox SET sent_at = now() WHERE id = ANY($1::uuid[]) AND sent_at IS NULL`,
      [ids],
    );
  }
}

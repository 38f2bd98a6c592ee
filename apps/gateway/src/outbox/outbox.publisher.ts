import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { contractFor } from '#contracts';
import { GroupCommitter } from '#database';
import { errorMessageOf, MessagePublisher, type EnvelopeMeta } from '#messaging';
import type { OutboxMessage } from './outbox.entity.js';

/** Publishes outbox rows (confirmed) and deletes the confirmed ones. Used by the fast path and the relay. */
@Injectable()
export class OutboxPublisher {
  private readonly logger = new Logger(OutboxPublisher.name);
  /** Confirmed rows are deleted in groups: one statement for many confirms. */
  private readonly confirmed = new GroupCommitter<string>((ids) => this.delete(ids), {
    maxBatch: 1000,
    lanes: 1,
  });

  constructor(
    @Inject(MessagePublisher) private readonly publisher: MessagePublisher,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /**
   * Publishes one row; resolves true once the broker confirmed it. Never throws. A row read back from the
   * table is validated against its contract again; one this process built from validated input and just
   * committed (`fresh`) is not.
   */
  async publish(row: OutboxMessage, { fresh = false } = {}): Promise<boolean> {
    const contract = contractFor(row.messageType);
    if (!contract) {
      this.logger.error(
        `Outbox row ${row.id} has unknown message type ${row.messageType}; leaving it unsent`,
      );
      return false;
    }
    try {
      const meta: EnvelopeMeta = {
        messageId: row.id,
        jobId: row.jobId,
        tenant: row.meta.tenant,
        maxAttempts: row.meta.maxAttempts,
        ...(row.meta.traceparent === undefined ? {} : { traceparent: row.meta.traceparent }),
        ...(row.meta.notify === undefined ? {} : { notify: row.meta.notify }),
        ...(row.meta.replayCount === undefined ? {} : { replayCount: row.meta.replayCount }),
      };
      if (fresh) await this.publisher.publishValidated(contract, row.payload, meta);
      else await this.publisher.publish(contract, row.payload, meta);
      return true;
    } catch (error) {
      this.logger.warn(`Outbox row ${row.id} (job ${row.jobId}) not published yet: ${errorMessageOf(error)}`);
      return false;
    }
  }

  /** The fast path right after a commit: publish now, then forget the row; the relay covers any failure. */
  async publishAndForget(row: OutboxMessage): Promise<void> {
    if (!(await this.publish(row, { fresh: true }))) return;
    await this.confirmed.add(row.id).catch((error: unknown) => {
      // Still in the outbox means the relay publishes it again: a duplicate message, which consumers absorb.
      this.logger.warn(`Outbox row ${row.id} published but not deleted: ${errorMessageOf(error)}`);
    });
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`DELETE FROM gateway.outbox WHERE id = ANY($1::uuid[])`, [ids]);
  }
}

import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { contractFor } from '#contracts';
import { GroupCommitter } from '#database';
import { errorMessageOf, MessagePublisher, type EnvelopeMeta } from '#messaging';
import type { OutboxMessage } from './outbox.entity.js';

/** How long confirmed jobs are collected before the ones still waiting are marked `dispatched`. */
const MARK_AFTER_MS = 500;
/** Confirmed jobs kept for marking while Postgres does not answer. */
const MAX_UNMARKED = 100_000;

/**
 * Publishes commands (confirmed): outbox rows, deleted once confirmed, and jobs that are their own outbox
 * record, marked `dispatched` once confirmed if nothing else has happened to them yet. Used by the fast
 * path and the relay.
 */
@Injectable()
export class OutboxPublisher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxPublisher.name);
  /** Confirmed rows are deleted in groups: one statement for many confirms. */
  private readonly confirmed = new GroupCommitter<string>((ids) => this.delete(ids), {
    maxBatch: 1000,
    lanes: 1,
  });

  /** Jobs whose command the broker confirmed, not yet marked (see {@link dispatch}). */
  private confirmedJobs: string[] = [];
  private marking?: NodeJS.Timeout;
  private closed = false;

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

  /**
   * The fast path for a job that runs now (its row is its outbox record): publish the command; once it is
   * confirmed, the job is marked `dispatched` within half a second — unless a worker has started it by
   * then, which already moved it past its first version (`seq = 1`) and out of the relay's sight, so most
   * jobs need no write for this at all. Never throws; if the publish or the mark fails, the relay
   * publishes the job after its grace (a duplicate at worst, which consumers absorb).
   */
  async dispatch(command: OutboxMessage): Promise<void> {
    if (!(await this.publish(command, { fresh: true })) || this.closed) return;
    this.confirmedJobs.push(command.jobId);
    this.markSoon();
  }

  private markSoon(): void {
    this.marking ??= setTimeout(() => {
      void this.markDispatched();
    }, MARK_AFTER_MS);
  }

  /** Marks the confirmed jobs that are still waiting in their first version. */
  async markDispatched(): Promise<void> {
    clearTimeout(this.marking);
    this.marking = undefined;
    const ids = this.confirmedJobs;
    this.confirmedJobs = [];
    if (ids.length === 0) return;
    try {
      await this.db.query(
        `UPDATE gateway.jobs SET dispatched = true
          WHERE id = ANY($1::uuid[]) AND status = 'queued' AND seq = 1 AND NOT dispatched`,
        [ids],
      );
    } catch (error) {
      // Tried again with the next ones (Postgres away for a while): the fewer left unmarked, the fewer
      // duplicates the relay sends once it can read again. Beyond a bound, the relay's duplicates it is.
      if (this.closed) return;
      this.confirmedJobs = ids.concat(this.confirmedJobs).slice(0, MAX_UNMARKED);
      this.markSoon();
      this.logger.warn(
        `${ids.length} confirmed job(s) not marked dispatched yet (trying again): ${errorMessageOf(error)}`,
      );
    }
  }

  /** Confirmed jobs are marked before the database goes away, so a restart does not resend them. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.markDispatched();
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`DELETE FROM gateway.outbox WHERE id = ANY($1::uuid[])`, [ids]);
  }
}

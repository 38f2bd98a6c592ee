import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ContractViolation, contractFor } from '#contracts';
import { GroupCommitter } from '#database';
import { errorMessageOf, MessagePublisher, type EnvelopeMeta } from '#messaging';
import type { OutboxMessage } from './outbox.entity.js';

/**
 * A confirmed job still waiting after this long (at most twice this) is marked `dispatched`. Measured in the
 * light bench: jobs start 18 ms (p50) / 50 ms (p99) after their submit, but when every job confirmed within
 * a period was marked at its end, those confirmed just before it were still waiting: 5,127 of 20,000 jobs
 * took a write for nothing.
 */
export const MARK_AFTER_MS = 500;
/** Confirmed jobs kept for marking while Postgres does not answer. */
const MAX_UNMARKED = 100_000;

/**
 * Publishes commands (confirmed): outbox rows, deleted once confirmed, and jobs that are their own outbox
 * record, marked `dispatched` once confirmed if nothing else has happened to them yet. Used by the fast
 * path and the relay.
 */
/** What became of one outbox row's publish (see {@link OutboxPublisher.send}). */
export type Sent = 'sent' | 'later' | { readonly unsendable: string };

@Injectable()
export class OutboxPublisher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxPublisher.name);
  /** Confirmed rows are deleted in groups: one statement for many confirms. */
  private readonly confirmed = new GroupCommitter<string>((ids) => this.delete(ids), {
    maxBatch: 1000,
    lanes: 1,
  });

  /** Jobs whose command the broker confirmed during this period, and during the one before (see {@link dispatch}). */
  private confirmedNow: string[] = [];
  private confirmedBefore: string[] = [];
  private marking?: NodeJS.Timeout;
  private closed = false;

  constructor(
    @Inject(MessagePublisher) private readonly publisher: MessagePublisher,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /**
   * How long the relay leaves a message to the fast path: until its confirm has timed out for sure, and its
   * job has been marked (two marking periods), plus a second. Sooner, the relay would send a second copy of
   * a message whose confirm is merely slow (a busy broker), or that is confirmed and not marked yet.
   */
  get relayGraceMs(): number {
    return this.publisher.confirmTimeoutMs + 2 * MARK_AFTER_MS + 1000;
  }

  /** When an outbox row the fast path publishes right after its commit becomes the relay's to send. */
  fastPathDueAt(): Date {
    return new Date(Date.now() + this.relayGraceMs);
  }

  /**
   * Publishes one row; resolves true once the broker confirmed it. Never throws. A row read back from the
   * table is validated against its contract again; one this process built from validated input and just
   * committed (`fresh`) is not.
   */
  async publish(row: OutboxMessage, { fresh = false } = {}): Promise<boolean> {
    return (await this.send(row, { fresh })) === 'sent';
  }

  /**
   * {@link publish}, telling why not: `unsendable` when the row can never go out as it is (a message type
   * no contract knows, a payload its contract refuses, as after a contract was tightened while a delayed
   * job waited), `later` when the broker did not take it (try again).
   */
  async send(row: OutboxMessage, { fresh = false } = {}): Promise<Sent> {
    const contract = contractFor(row.messageType);
    if (!contract) {
      this.logger.error(`Outbox row ${row.id} has unknown message type ${row.messageType}`);
      return { unsendable: `unknown message type ${row.messageType}` };
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
      return 'sent';
    } catch (error) {
      if (error instanceof ContractViolation) {
        this.logger.error(`Outbox row ${row.id} (job ${row.jobId}) can never be sent: ${error.message}`);
        return { unsendable: error.message };
      }
      this.logger.warn(`Outbox row ${row.id} (job ${row.jobId}) not published yet: ${errorMessageOf(error)}`);
      return 'later';
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
   * confirmed, the job is marked `dispatched` between one and two {@link MARK_AFTER_MS} later, unless a
   * worker has started it by then. A start moves the job past its first version (`seq = 1`) and out of the
   * relay's sight, so most jobs need no write for this at all. Never throws; if the publish or the mark
   * fails, the relay publishes the job after its grace (a duplicate at worst, which consumers absorb).
   */
  async dispatch(command: OutboxMessage): Promise<void> {
    if (!(await this.publish(command, { fresh: true })) || this.closed) return;
    this.confirmedNow.push(command.jobId);
    this.markSoon();
  }

  private markSoon(): void {
    this.marking ??= setTimeout(() => {
      this.marking = undefined;
      // Marked: the jobs confirmed a whole period ago at least. The period's own wait for the next one.
      const due = this.confirmedBefore;
      this.confirmedBefore = this.confirmedNow;
      this.confirmedNow = [];
      void this.mark(due).finally(() => {
        if (this.confirmedBefore.length > 0) this.markSoon();
      });
    }, MARK_AFTER_MS);
  }

  /** Marks every confirmed job that is still waiting in its first version, now (shutdown, tests). */
  async markDispatched(): Promise<void> {
    clearTimeout(this.marking);
    this.marking = undefined;
    const due = this.confirmedBefore.concat(this.confirmedNow);
    this.confirmedBefore = [];
    this.confirmedNow = [];
    await this.mark(due);
  }

  private async mark(ids: string[]): Promise<void> {
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
      this.confirmedBefore = ids.concat(this.confirmedBefore).slice(0, MAX_UNMARKED);
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

import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ControlEvents, TERMINAL_STATUSES, type CancelRequested } from '#contracts';
import { errorMessageOf } from '#messaging';
import { isAdmin, type Principal } from '../auth/principal.js';
import type { OutboxMessage } from '../outbox/outbox.entity.js';
import { OutboxPublisher } from '../outbox/outbox.publisher.js';
import { JobNotFoundError, JobStateConflictError } from './job-errors.js';
import { JobEntity } from './job.entity.js';

/**
 * `POST /v1/jobs/:id/cancel` (API.md). In one transaction: a job that is not running (queued, scheduled,
 * retrying) becomes `cancelled` at once and its unpublished command is dropped; a running one is marked
 * `cancelRequested`. Either way a `control.cancel` request goes into the outbox, so the workers hear of it
 * even if the broker is down right now: a running job is aborted, a command still in a queue (or between
 * retries) is acked without running when it arrives. A running job that finishes first keeps its status.
 */
@Injectable()
export class JobCancellation {
  private readonly logger = new Logger(JobCancellation.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(OutboxPublisher) private readonly outbox: OutboxPublisher,
  ) {}

  async cancel(principal: Principal, id: string): Promise<JobEntity> {
    const { job, request } = await this.db.transaction(async (tx) => {
      // The job's outbox rows are locked before its row, in the relay's order (it locks an outbox row, sends
      // it, then updates the job): the other order deadlocks with a relay pass that is sending this job's
      // command, and Postgres would abort one of the two (a 503 here, or a pass rolled back after it sent).
      await tx.query(`SELECT id FROM gateway.outbox WHERE job_id = $1 FOR UPDATE`, [id]);
      const jobs = tx.getRepository(JobEntity);
      const found = await jobs.findOne({
        where: isAdmin(principal) ? { id } : { id, tenant: principal.tenant },
        lock: { mode: 'pessimistic_write' },
      });
      if (!found) throw new JobNotFoundError(id);
      if (TERMINAL_STATUSES.includes(found.status)) {
        throw new JobStateConflictError(id, `Job ${id} is already ${found.status}`);
      }
      if (found.status === 'running') {
        await tx.query(
          `UPDATE gateway.jobs SET cancel_requested = true, seq = seq + 1, updated_at = now() WHERE id = $1`,
          [id],
        );
      } else {
        await tx.query(
          `UPDATE gateway.jobs SET status = 'cancelled', cancel_requested = true, finished_at = now(),
                  seq = seq + 1, updated_at = now()
            WHERE id = $1`,
          [id],
        );
        // A command not yet published (scheduled, or still in the outbox) is simply never sent.
        await tx.query(`DELETE FROM gateway.outbox WHERE job_id = $1`, [id]);
      }
      // It stops the job's current run (and any earlier one still about), not a replay made after it.
      const payload: CancelRequested = {
        jobId: id,
        at: new Date().toISOString(),
        ...(found.replays > 0 ? { replays: found.replays } : {}), // 0 goes as absent (see the contract)
      };
      const request: OutboxMessage = {
        id: randomUUID(),
        jobId: id,
        messageType: ControlEvents.cancelRequested.name,
        payload,
        meta: { tenant: principal.tenant, maxAttempts: 1 },
      };
      await tx.query(
        `INSERT INTO gateway.outbox (id, job_id, message_type, payload, meta, created_at, due_at)
         VALUES ($1, $2, $3, $4, $5, now(), $6)`,
        [
          request.id,
          id,
          request.messageType,
          JSON.stringify(request.payload),
          JSON.stringify(request.meta),
          this.outbox.fastPathDueAt(), // published right after the commit; the relay's after the grace
        ],
      );
      return { job: await jobs.findOneByOrFail({ id }), request };
    });
    this.outbox.publishAndForget(request).catch((error: unknown) => {
      this.logger.warn(`Cancel request for job ${id} not published yet: ${errorMessageOf(error)}`);
    });
    return job;
  }
}

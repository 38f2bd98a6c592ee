import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { JobFailed, JobProgressed, JobRetrying, JobStarted, JobSucceeded } from '#contracts';

/**
 * Lifecycle events applied to `gateway.jobs`, each as one UPDATE whose WHERE clause encodes the allowed
 * transitions: events may arrive late, twice, or out of order, and a job never moves backwards (a late
 * `started` cannot undo `succeeded`; attempts only grow). Every visible change bumps `seq`.
 */
@Injectable()
export class JobTransitions {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Counts the delivery once per event id, even if the event itself is redelivered to us. */
  async started(event: JobStarted, eventId: string): Promise<void> {
    await this.db.query(
      `WITH attempt AS (
         INSERT INTO gateway.job_attempts (event_id, job_id, attempt, started_at)
         SELECT $2, id, $3, $4 FROM gateway.jobs WHERE id = $1
         ON CONFLICT (event_id) DO NOTHING
         RETURNING job_id)
       UPDATE gateway.jobs j SET
         attempts     = j.attempts + 1,
         last_attempt = greatest(j.last_attempt, $3),
         status       = CASE WHEN j.status IN ('queued', 'scheduled', 'retrying') THEN 'running' ELSE j.status END,
         started_at   = coalesce(j.started_at, $4),
         seq = j.seq + 1, updated_at = now()
       FROM attempt
       WHERE j.id = attempt.job_id AND j.status NOT IN ('succeeded', 'failed', 'cancelled')`,
      [event.jobId, eventId, event.attempt, event.at],
    );
  }

  async progressed(event: JobProgressed): Promise<void> {
    await this.db.query(
      `UPDATE gateway.jobs SET progress = $2, seq = seq + 1, updated_at = now()
        WHERE id = $1 AND status = 'running' AND progress < $2`,
      [event.jobId, event.progress],
    );
  }

  /** Ignored if a later attempt has already started (the retry overtook this event). */
  async retrying(event: JobRetrying): Promise<void> {
    await this.db.query(
      `UPDATE gateway.jobs SET status = 'retrying', error = $2, progress = 0, seq = seq + 1, updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running', 'retrying') AND last_attempt <= $3`,
      [event.jobId, JSON.stringify(event.error), event.attempt],
    );
  }

  async succeeded(event: JobSucceeded): Promise<void> {
    await this.db.query(
      `UPDATE gateway.jobs SET status = 'succeeded', result = $2, error = NULL, progress = 100,
              finished_at = $3, seq = seq + 1, updated_at = now()
        WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled')`,
      [event.jobId, JSON.stringify(event.result), event.at],
    );
  }

  async failed(event: JobFailed): Promise<void> {
    await this.db.query(
      `UPDATE gateway.jobs SET status = 'failed', error = $2, finished_at = $3, seq = seq + 1, updated_at = now()
        WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled')`,
      [event.jobId, JSON.stringify(event.error), event.at],
    );
  }
}

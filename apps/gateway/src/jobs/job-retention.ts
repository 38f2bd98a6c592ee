import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { errorMessageOf } from '#messaging';
import { Metrics } from '#observability';
import type { GatewayConfig } from '../gateway.config.js';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';

/** How often the finished jobs past `JOB_RETENTION` are looked for. */
const SWEEP_EVERY_MS = 60_000;
/** Jobs deleted per statement (one short transaction each), and statements per sweep at most. */
export const SWEEP_BATCH = 5_000;
const BATCHES_PER_SWEEP = 20;

/**
 * Deletes the records of jobs that finished more than `JOB_RETENTION` ago (`GET /v1/jobs/:id` is then a
 * `404`), so `gateway.jobs` holds what is recent instead of growing with every job ever run. `0` keeps
 * them all.
 *
 * Only finished jobs go: succeeded, failed or cancelled, whatever their age, never one still queued,
 * scheduled, running or retrying. A failed job whose dead letter is still pending (neither replayed nor
 * discarded) stays too, so that a replay still finds it.
 *
 * Each sweep deletes in batches of {@link SWEEP_BATCH}, oldest first, claimed with `FOR UPDATE SKIP LOCKED`:
 * every replica sweeps, none waits on another's batch, and a backlog (after the retention was shortened)
 * goes at up to 100,000 jobs a minute instead of in one transaction that would hold locks and bloat the
 * WAL at once. Report files have their own retention (`ARTIFACT_RETENTION`, report-service).
 */
@Injectable()
export class JobRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobRetention.name);
  private readonly deleted: Counter;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.deleted = new Counter({
      name: 'conveyor_jobs_expired_total',
      help: 'Finished jobs whose records were deleted after JOB_RETENTION',
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    if (this.timer || this.config.JOB_RETENTION === 0) return; // the hook can run twice (microservice)
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((error: unknown) => {
          this.logger.warn(`Expired jobs not deleted: ${errorMessageOf(error)}`);
        })
        .finally(() => {
          this.running = undefined;
        });
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep: deletes up to 20 batches of expired jobs; returns how many went. */
  async sweep(batch = SWEEP_BATCH): Promise<number> {
    if (this.config.JOB_RETENTION === 0) return 0;
    let total = 0;
    for (let i = 0; i < BATCHES_PER_SWEEP; i++) {
      const [, count] = await this.db.query<[unknown, number]>(
        `WITH expired AS (
           SELECT id FROM gateway.jobs j
            WHERE created_at < now() - $1 * interval '1 millisecond'
              AND finished_at < now() - $1 * interval '1 millisecond'
              AND status IN ('succeeded', 'failed', 'cancelled')
              AND NOT EXISTS (SELECT 1 FROM gateway.dead_letters d
                               WHERE d.job_id = j.id AND d.replayed_at IS NULL AND d.discarded_at IS NULL)
            ORDER BY created_at
            LIMIT $2
              FOR UPDATE SKIP LOCKED)
         DELETE FROM gateway.jobs WHERE id IN (SELECT id FROM expired)`,
        [this.config.JOB_RETENTION, batch],
      );
      total += count;
      this.deleted.inc(count);
      if (count < batch) break;
    }
    if (total > 0) this.logger.log(`Deleted ${total} jobs finished more than JOB_RETENTION ago`);
    return total;
  }
}

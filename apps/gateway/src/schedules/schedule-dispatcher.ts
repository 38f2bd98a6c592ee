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
import type { Principal } from '../auth/principal.js';
import type { GatewayConfig } from '../gateway.config.js';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';
import { JobsService, type Queryable, type Submission } from '../jobs/jobs.service.js';
import { InFlightLimit } from '../limits/in-flight.js';
import { CronSchedule, isCronSchedule } from './cron-schedule.js';
import type { ScheduleRow } from './schedule.view.js';

/** Schedules claimed per transaction; a pass goes on while batches come back full. */
const BATCH = 100;

/** The one run a due schedule gets now, and when it is due next. */
export interface PlannedRun {
  /** The due time this run is for: the schedule's `next_run_at`, however long ago that was. */
  readonly dueAt: Date;
  readonly nextRunAt: Date;
}

/** How long a schedule that cannot be planned waits before it is tried again. */
const UNPLANNABLE_RETRY = '1 hour';

/**
 * The missed-runs policy: a schedule that is due gets exactly one run, for its oldest due time, and its
 * next due time is the first one strictly after `now`, not after the old one. After downtime that is one
 * catch-up job, not one per missed time.
 */
export function planRun(
  schedule: Pick<ScheduleRow, 'cron' | 'timezone' | 'next_run_at'>,
  now: Date,
): PlannedRun {
  const cron = CronSchedule.parse(schedule.cron, schedule.timezone);
  if (!isCronSchedule(cron)) throw new Error(`stored schedule is invalid: ${cron.problems.join('; ')}`);
  return { dueAt: schedule.next_run_at, nextRunAt: cron.nextAfter(now) };
}

interface DueRow extends ScheduleRow {
  /** The claiming transaction's now(): due times are compared with the database's clock, not ours. */
  now: Date;
}

/**
 * Turns due schedules into jobs, about every `SCHEDULE_TICK`, on every gateway replica. Due rows are
 * claimed with FOR UPDATE SKIP LOCKED, and each one's job (with its outbox row, by the submissions'
 * insert) and its advance commit in one transaction: a replica either sees a schedule already advanced
 * or skips it while another holds it, so each due time gets one job however many replicas run. The
 * unique (schedule_id, scheduled_for) index on jobs is the guard under that.
 *
 * Schedules are held to their tenant's cap on jobs in flight (`MAX_IN_FLIGHT_PER_TENANT`) like submissions
 * are: a due time whose tenant is at the cap advances without a job (logged and counted as skipped), so
 * that many schedules firing every second cannot fill the workers' queues for every other tenant.
 */
@Injectable()
export class ScheduleDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ScheduleDispatcher.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly jobsCreated: Counter<'kind'>;
  private readonly runConflicts: Counter;
  private readonly runsSkipped: Counter;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(InFlightLimit) private readonly inFlight: InFlightLimit,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.jobsCreated = new Counter({
      name: 'conveyor_schedule_jobs_created_total',
      help: 'Jobs created by schedules',
      labelNames: ['kind'] as const,
      registers: [metrics.registry],
    });
    this.runConflicts = new Counter({
      name: 'conveyor_schedule_run_conflicts_total',
      help: 'Scheduled runs refused by the one-job-per-due-time index (a claim let a due time through twice)',
      registers: [metrics.registry],
    });
    this.runsSkipped = new Counter({
      name: 'conveyor_schedule_runs_skipped_total',
      help: 'Scheduled runs that made no job because their tenant was at its cap on jobs in flight',
      registers: [metrics.registry],
    });
    metrics.gauge(
      'conveyor_schedule_lag_seconds',
      'How overdue the most overdue schedule is (0 when none is due)',
      async () => {
        const rows = await this.db.query<{ s: number | null }[]>(
          `SELECT greatest(0, extract(epoch FROM now() - min(next_run_at)))::float8 AS s
             FROM gateway.schedules WHERE deleted_at IS NULL`,
        );
        return rows[0]?.s ?? 0;
      },
    );
  }

  onApplicationBootstrap(): void {
    if (this.timer) return; // the hook can run twice when a microservice is connected to the app
    this.timer = setInterval(() => {
      this.running ??= this.dispatchDue()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.logger.warn(`Schedule dispatch failed: ${errorMessageOf(error)}`);
        })
        .finally(() => (this.running = undefined));
    }, this.config.SCHEDULE_TICK);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: a job for every schedule due now, a batch per transaction. Returns how many were created. */
  async dispatchDue(): Promise<number> {
    let created = 0;
    for (;;) {
      const batch = await this.dispatchBatch();
      created += batch.created;
      if (batch.claimed < BATCH) return created;
    }
  }

  private async dispatchBatch(): Promise<{ claimed: number; created: number }> {
    let afterCommit: (() => void) | undefined;
    const outcome = await this.db.transaction(async (tx) => {
      const due = await tx.query<DueRow[]>(
        `SELECT id, tenant, cron, timezone, kind, body, next_run_at, last_run_at, created_at, now() AS now
           FROM gateway.schedules
          WHERE next_run_at <= now() AND deleted_at IS NULL
          ORDER BY next_run_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
      );
      if (due.length === 0) return { claimed: 0, created: 0 };
      const runs: (PlannedRun & { row: DueRow })[] = [];
      const unplannable: DueRow[] = [];
      for (const row of due) {
        try {
          runs.push({ row, ...planRun(row, row.now) });
        } catch (error) {
          unplannable.push(row);
          this.logger.error(
            `Schedule ${row.id} cannot be planned: ${errorMessageOf(error)}; retried in an hour`,
          );
        }
      }
      // A stored schedule that no longer plans (its cron or time zone stopped parsing after an upgrade, say)
      // would fail its whole batch on every tick, and every schedule behind it with it: it waits an hour.
      if (unplannable.length > 0) {
        await tx.query(
          `UPDATE gateway.schedules SET next_run_at = now() + interval '${UNPLANNABLE_RETRY}' WHERE id = ANY($1::uuid[])`,
          [unplannable.map((row) => row.id)],
        );
      }
      const admitted = runs.filter((run) => this.inFlight.tryAdmit(run.row.tenant));
      const skipped = runs.length - admitted.length;
      const created = await this.createJobs(tx, admitted);
      // Every run advances its schedule; `last_run_at` is the due time of the last run that made a job.
      const made = new Set(admitted);
      await tx.query(
        `UPDATE gateway.schedules AS s
            SET next_run_at = t.next_run_at, last_run_at = coalesce(t.due_at, s.last_run_at)
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS t (id, next_run_at, due_at)
          WHERE s.id = t.id`,
        [
          runs.map((r) => r.row.id),
          runs.map((r) => r.nextRunAt),
          runs.map((r) => (made.has(r) ? r.dueAt : null)),
        ],
      );
      afterCommit = () => {
        created.afterCommit();
        for (const job of created.jobs) this.jobsCreated.inc({ kind: job.kind });
        if (skipped > 0) {
          this.runsSkipped.inc(skipped);
          this.logger.warn(
            `${skipped} scheduled run(s) made no job: their tenant is at its cap on jobs in flight`,
          );
        }
      };
      return { claimed: due.length, created: created.jobs.length };
    });
    afterCommit?.();
    return outcome;
  }

  /**
   * The runs' jobs, by the submissions' insert. Should the unique index refuse one (a due time that
   * already has its job), the others are still created and that schedule still advances, rather than the
   * whole batch failing on every tick from then on.
   */
  private async createJobs(
    tx: Queryable,
    runs: readonly (PlannedRun & { row: DueRow })[],
  ): Promise<Awaited<ReturnType<JobsService['submitWithin']>>> {
    await tx.query('SAVEPOINT schedule_runs');
    try {
      return await this.jobs.submitWithin(tx, runs.map(submissionOf));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT schedule_runs');
    }
    const existing = (await tx.query(
      `SELECT schedule_id, scheduled_for FROM gateway.jobs
        WHERE (schedule_id, scheduled_for) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]))`,
      [runs.map((r) => r.row.id), runs.map((r) => r.dueAt)],
    )) as { schedule_id: string; scheduled_for: Date }[];
    const taken = new Set(existing.map((e) => `${e.schedule_id}@${e.scheduled_for.getTime()}`));
    const fresh = runs.filter((r) => !taken.has(`${r.row.id}@${r.dueAt.getTime()}`));
    this.runConflicts.inc(runs.length - fresh.length);
    this.logger.warn(
      `${runs.length - fresh.length} scheduled run(s) already had their job; advanced without another`,
    );
    return this.jobs.submitWithin(tx, fresh.map(submissionOf));
  }
}

function submissionOf(run: PlannedRun & { row: ScheduleRow }): {
  principal: Principal;
  submission: Submission;
} {
  const { row } = run;
  return {
    principal: { tenant: row.tenant, scopes: new Set(), actor: `schedule:${row.id}` },
    submission: {
      kind: row.kind,
      command: row.body,
      input: row.body,
      schedule: { id: row.id, dueAt: run.dueAt },
    },
  };
}

function isUniqueViolation(error: unknown): boolean {
  const driverError: unknown = (error as { driverError?: unknown } | null)?.driverError ?? error;
  return (driverError as { code?: unknown } | null)?.code === '23505';
}

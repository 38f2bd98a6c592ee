import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type {
  JobCancelled,
  JobFailed,
  JobProgressed,
  JobRetrying,
  JobStarted,
  JobSucceeded,
} from '#contracts';
import { GroupCommitter, PreparedStatement, storableJson } from '#database';
import { Metrics } from '#observability';
import type { QueryResultRow } from 'pg';

/**
 * One lifecycle event. `run` is the job's run it belongs to (its command's replay count; absent: 0); an
 * event of an earlier run than the job's record is on changes nothing.
 */
export type LifecycleChange = { readonly run?: number | undefined } & (
  | { readonly type: 'started'; readonly event: JobStarted; readonly eventId: string }
  | { readonly type: 'progress'; readonly event: JobProgressed }
  | { readonly type: 'retrying'; readonly event: JobRetrying }
  | { readonly type: 'succeeded'; readonly event: JobSucceeded }
  | { readonly type: 'failed'; readonly event: JobFailed }
  | { readonly type: 'cancelled'; readonly event: JobCancelled }
);

type Of<T extends LifecycleChange['type']> = Extract<LifecycleChange, { type: T }>;

/**
 * The guard every transition carries: the event belongs to the run the job is on, or a later one. A replay
 * moves the job to its next run; what its earlier run still reports (a late `failed`, `started` or
 * `retrying`) then changes nothing. A later run than the record knows only comes from a replay counted
 * before the record counted replays (the migration backfills what it can); its events apply.
 */
const CURRENT_RUN = 'v.run >= j.replays';

/**
 * Whether the STARTED statement's row ends as `succeeded`: its batch brought the job's end, and the row as
 * locked (`j`, not a snapshot read before the lock: another gateway or the dead-letter archive may have
 * finished the job meanwhile) has not ended it already.
 */
const SUCCEEDING = `(upd.ending AND j.status NOT IN ('succeeded', 'failed'))`;

/** Starts, and ends that came with them (see {@link JobTransitions.started}); the hottest UPDATE there is. */
const STARTED = new PreparedStatement<StartedRow>(
  'conveyor.gateway.jobs-started',
  `WITH ev AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[], $8::int[])
                  AS e (job_id, event_id, attempt, at, run)),
  per_job AS (
    SELECT job_id, array_agg(DISTINCT event_id) AS events, max(attempt) AS attempt, min(at) AS at, max(run) AS run
      FROM ev GROUP BY job_id),
  ended AS (
    SELECT * FROM unnest($5::uuid[], $6::jsonb[], $7::timestamptz[]) AS s (job_id, result, at)),
  upd AS (
    SELECT per_job.*, ended.result, ended.at AS finished_at, ended.job_id IS NOT NULL AS ending
      FROM per_job LEFT JOIN ended ON ended.job_id = per_job.job_id)
  UPDATE gateway.jobs j SET
    attempts     = j.attempts + (SELECT count(*) FROM unnest(upd.events) e WHERE e <> ALL (j.started_events)),
    started_events = j.started_events
                     || ARRAY(SELECT e FROM unnest(upd.events) e WHERE e <> ALL (j.started_events)),
    last_attempt = greatest(j.last_attempt, upd.attempt),
    status       = CASE WHEN ${SUCCEEDING} THEN 'succeeded'
                        WHEN j.status IN ('queued', 'scheduled', 'retrying') THEN 'running'
                        ELSE j.status END,
    started_at   = coalesce(j.started_at, upd.at),
    result       = CASE WHEN ${SUCCEEDING} THEN upd.result ELSE j.result END,
    error        = CASE WHEN ${SUCCEEDING} THEN NULL ELSE j.error END,
    progress     = CASE WHEN ${SUCCEEDING} THEN 100 ELSE j.progress END,
    finished_at  = CASE WHEN ${SUCCEEDING} THEN upd.finished_at ELSE j.finished_at END,
    seq = j.seq + 1, updated_at = now()
  FROM upd
  WHERE j.id = upd.job_id AND NOT upd.events <@ j.started_events AND upd.run >= j.replays
  RETURNING j.id, upd.ending AS ended,
            -- finished by this statement: succeeded now, at this end's time (one it had ended with keeps its own)
            upd.ending AND j.status = 'succeeded' AND j.finished_at = upd.finished_at AS finished, j.kind, j.status,
            extract(epoch FROM j.finished_at - j.created_at)::float8 AS seconds`,
);

/**
 * Lifecycle events applied to `gateway.jobs`. Each kind of change is one UPDATE whose WHERE clause encodes
 * the allowed transitions, so events may arrive late, twice or out of order and a job never moves
 * backwards (a late `started` cannot undo `succeeded`; attempts only grow). Every visible change bumps
 * `seq`. Events that arrive together are applied together (group commit), kind by kind in lifecycle order.
 */
@Injectable()
export class JobTransitions {
  private readonly changes = new GroupCommitter<LifecycleChange>((batch) => this.write(batch), {
    maxBatch: 1000,
    lanes: 1,
  });

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  /** Resolves once the change is in the database (the event may then be acked). */
  apply(change: LifecycleChange): Promise<void> {
    return this.changes.add(change);
  }

  /** Changes that arrived together (a worker's batch): applied by the same statements. */
  applyAll(changes: readonly LifecycleChange[]): Promise<void> {
    return this.changes.addAll(changes);
  }

  private async write(changes: readonly LifecycleChange[]): Promise<void> {
    const batch = latestRunOnly(changes);
    const of = <T extends LifecycleChange['type']>(type: T) =>
      batch.filter((c): c is Of<T> => c.type === type);
    const succeeded = newestPerJob(of('succeeded'), () => false);
    // A fast job's start and end usually arrive together: both go into one row version.
    const endedWithStart = await this.started(of('started'), succeeded);
    // Progress of a job that succeeds in the same batch would be overwritten by its 100 at once.
    const succeeding = new Set(succeeded.map((c) => c.event.jobId));
    await this.progressed(of('progress').filter((c) => !succeeding.has(c.event.jobId)));
    await this.retrying(of('retrying'));
    await this.succeeded(succeeded.filter((c) => !endedWithStart.has(c.event.jobId)));
    await this.failed(of('failed'));
    await this.cancelled(of('cancelled'));
  }

  /**
   * Counts each delivery once per event id, even if the event itself is redelivered, and whatever the
   * status: a `started` can arrive after the job's end was recorded (the dead-letter archive may mark it
   * failed first), and the attempt still happened. Only a waiting job becomes `running`.
   *
   * The ids of the `started` events a job has counted are kept on its row (`started_events`), not as rows
   * of their own: one row written per start instead of two plus two index entries and a foreign-key lock
   * (light bench: Postgres WAL per job ~2,050 → ~1,650 bytes). Which ids are new is decided in the UPDATE
   * itself, against the row it updates: if another gateway counts the same event at the same moment, this
   * UPDATE waits for that row, sees the id recorded when it re-reads it, and counts nothing.
   *
   * A job whose `succeeded` came in the same batch goes straight to `succeeded` here, under the same guard
   * as {@link succeeded} (one UPDATE, one row version, instead of two). Returns those jobs' ids; their
   * `succeeded` is done. One whose start was a duplicate (no fresh attempt) is left to {@link succeeded}.
   */
  private async started(
    changes: readonly Of<'started'>[],
    succeeded: readonly Of<'succeeded'>[],
  ): Promise<Set<string>> {
    if (changes.length === 0) return new Set();
    const starting = new Set(changes.map((c) => c.event.jobId));
    const ending = succeeded.filter((c) => starting.has(c.event.jobId));
    const rows = await STARTED.run(this.db, [
      changes.map((c) => c.event.jobId),
      changes.map((c) => c.eventId),
      changes.map((c) => c.event.attempt),
      changes.map((c) => c.event.at),
      ending.map((c) => c.event.jobId),
      ending.map((c) => storableJson(c.event.result)),
      ending.map((c) => c.event.at),
      runsOf(changes),
    ]);
    this.countFinished(rows.filter((row) => row.finished));
    return new Set(rows.filter((row) => row.ended).map((row) => row.id));
  }

  private async progressed(changes: readonly Of<'progress'>[]): Promise<void> {
    const latest = newestPerJob(changes, (a, b) => b.event.progress > a.event.progress);
    if (latest.length === 0) return;
    await this.db.query(
      `UPDATE gateway.jobs j SET progress = v.progress, seq = j.seq + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::int[], $3::int[]) AS v (id, progress, run)
        WHERE j.id = v.id AND j.status = 'running' AND j.progress < v.progress AND ${CURRENT_RUN}`,
      [latest.map((c) => c.event.jobId), latest.map((c) => c.event.progress), runsOf(latest)],
    );
  }

  /** Ignored if a later attempt has already started (the retry overtook this event). */
  private async retrying(changes: readonly Of<'retrying'>[]): Promise<void> {
    const latest = newestPerJob(changes, (a, b) => b.event.attempt > a.event.attempt);
    if (latest.length === 0) return;
    await this.db.query(
      `UPDATE gateway.jobs j SET status = 'retrying', error = v.error, progress = 0, seq = j.seq + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::jsonb[], $3::int[], $4::int[]) AS v (id, error, attempt, run)
        WHERE j.id = v.id AND j.status IN ('queued', 'running', 'retrying') AND j.last_attempt <= v.attempt
          AND ${CURRENT_RUN}`,
      [
        latest.map((c) => c.event.jobId),
        latest.map((c) => storableJson(c.event.error)),
        latest.map((c) => c.event.attempt),
        runsOf(latest),
      ],
    );
  }

  /**
   * Also from `cancelled`: a job cancelled while it waited can still have been picked up a moment before
   * the cancel reached the worker; if it then ran to the end, what happened is that it succeeded.
   */
  private async succeeded(latest: readonly Of<'succeeded'>[]): Promise<void> {
    if (latest.length === 0) return;
    await this.finish(
      `UPDATE gateway.jobs j SET status = 'succeeded', result = v.result, error = NULL, progress = 100,
              finished_at = v.at, seq = j.seq + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[], $4::int[]) AS v (id, result, at, run)
        WHERE j.id = v.id AND j.status NOT IN ('succeeded', 'failed') AND ${CURRENT_RUN}
        RETURNING j.kind, j.status, extract(epoch FROM j.finished_at - j.created_at)::float8 AS seconds`,
      [
        latest.map((c) => c.event.jobId),
        latest.map((c) => storableJson(c.event.result)),
        latest.map((c) => c.event.at),
        runsOf(latest),
      ],
    );
  }

  /** Runs a terminal transition and counts the jobs it finished (only the ones it actually moved). */
  private async finish(sql: string, parameters: unknown[]): Promise<void> {
    const [rows] = await this.db.query<[Finished[], number]>(sql, parameters);
    this.countFinished(rows);
  }

  private countFinished(rows: readonly Finished[]): void {
    for (const row of rows) {
      this.metrics.jobsFinished.inc({ kind: row.kind, status: row.status });
      this.metrics.jobDuration.observe({ kind: row.kind }, Math.max(0, row.seconds));
    }
  }

  private async failed(changes: readonly Of<'failed'>[]): Promise<void> {
    const latest = newestPerJob(changes, () => false);
    if (latest.length === 0) return;
    await this.finish(
      `UPDATE gateway.jobs j SET status = 'failed', error = v.error, finished_at = v.at, seq = j.seq + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[], $4::int[]) AS v (id, error, at, run)
        WHERE j.id = v.id AND j.status NOT IN ('succeeded', 'failed', 'cancelled') AND ${CURRENT_RUN}
        RETURNING j.kind, j.status, extract(epoch FROM j.finished_at - j.created_at)::float8 AS seconds`,
      [
        latest.map((c) => c.event.jobId),
        latest.map((c) => storableJson(c.event.error)),
        latest.map((c) => c.event.at),
        runsOf(latest),
      ],
    );
  }

  /** A running job the worker stopped on a cancel request (a waiting one was cancelled by the gateway). */
  private async cancelled(changes: readonly Of<'cancelled'>[]): Promise<void> {
    const latest = newestPerJob(changes, () => false);
    if (latest.length === 0) return;
    await this.finish(
      `UPDATE gateway.jobs j SET status = 'cancelled', cancel_requested = true, finished_at = v.at,
              seq = j.seq + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::timestamptz[], $3::int[]) AS v (id, at, run)
        WHERE j.id = v.id AND j.status NOT IN ('succeeded', 'failed', 'cancelled') AND ${CURRENT_RUN}
        RETURNING j.kind, j.status, extract(epoch FROM j.finished_at - j.created_at)::float8 AS seconds`,
      [latest.map((c) => c.event.jobId), latest.map((c) => c.event.at), runsOf(latest)],
    );
  }
}

/** Rows a terminal UPDATE … RETURNING reports, for the finished-jobs metrics. */
interface Finished {
  kind: string;
  status: string;
  seconds: number;
}

/** Rows of the start UPDATE, which may also have ended the job. */
interface StartedRow extends Finished, QueryResultRow {
  id: string;
  /** The batch held this job's `succeeded`, and it is done (applied, or refused by the same guard). */
  ended: boolean;
  /** This statement finished the job (it was not finished before). */
  finished: boolean;
}

/** One change per job (an UPDATE … FROM applies only one source row per target row anyway). */
function newestPerJob<C extends { event: { jobId: string } }>(
  changes: readonly C[],
  newer: (kept: C, other: C) => boolean,
): C[] {
  const kept = new Map<string, C>();
  for (const change of changes) {
    const current = kept.get(change.event.jobId);
    if (!current || newer(current, change)) kept.set(change.event.jobId, change);
  }
  return [...kept.values()];
}

/** Each change's run, as an int[] parameter. */
function runsOf(changes: readonly LifecycleChange[]): number[] {
  return changes.map((c) => c.run ?? 0);
}

/**
 * Drops the changes of a job that belong to an earlier run than another change of the same job in the
 * batch: the one-change-per-job UPDATEs below would otherwise pick either.
 */
function latestRunOnly(changes: readonly LifecycleChange[]): readonly LifecycleChange[] {
  if (!changes.some((c) => c.run)) return changes; // the common case: first runs only
  const latest = new Map<string, number>();
  for (const c of changes) latest.set(c.event.jobId, Math.max(c.run ?? 0, latest.get(c.event.jobId) ?? 0));
  return changes.filter((c) => (c.run ?? 0) === latest.get(c.event.jobId));
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { JobKinds, type JobKind, type Notify } from '#contracts';
import { errorMessageOf } from '#messaging';
import { Metrics } from '#observability';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';
import type { GatewayConfig } from '../gateway.config.js';
import type { OutboxMessage, OutboxMeta } from './outbox.entity.js';
import { OutboxPublisher, type Sent } from './outbox.publisher.js';

interface OutboxRow {
  id: string;
  job_id: string;
  message_type: string;
  payload: unknown;
  meta: OutboxMeta;
}

const BATCH = 500;

interface UndispatchedJob {
  id: string;
  tenant: string;
  kind: JobKind;
  max_attempts: number;
  input: Record<string, unknown>;
  traceparent: string | null;
}

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
      'Commands committed but not yet known to be confirmed by the broker (outbox rows and undispatched jobs)',
      async () => {
        const rows = await this.db.query<{ n: string }[]>(
          `SELECT (SELECT count(*) FROM gateway.outbox) + (SELECT count(*) FROM gateway.jobs ${UNDISPATCHED}) AS n`,
        );
        return Number(rows[0]?.n ?? 0);
      },
    );
    metrics.gauge('conveyor_outbox_oldest_age_seconds', 'Age of the oldest unconfirmed command', async () => {
      const rows = await this.db.query<{ s: number | null }[]>(
        `SELECT extract(epoch FROM now() - least((SELECT min(created_at) FROM gateway.outbox),
                                                 (SELECT min(created_at) FROM gateway.jobs ${UNDISPATCHED})))::float8 AS s`,
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

  /** One pass: outbox rows that are due, then jobs left undispatched past their grace. */
  async relayOnce(): Promise<number> {
    return (await this.relayOutbox()) + (await this.relayJobs());
  }

  /**
   * Jobs that run now are their own outbox record: one still in its first version and not marked
   * `dispatched` after the grace (the gateway died between commit and confirm, or the broker was away) is
   * published again from its row, with the job's id as the message id like the fast path's, and marked.
   */
  private async relayJobs(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const jobs = await tx.query<UndispatchedJob[]>(
        `SELECT id, tenant, kind, max_attempts, input, traceparent FROM gateway.jobs
          ${UNDISPATCHED} AND created_at <= now() - $1 * interval '1 millisecond'
          ORDER BY created_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        [this.outbox.relayGraceMs], // left to the fast path until then (see relayGraceMs)
      );
      if (jobs.length === 0) return 0;
      const outcomes = await Promise.all(jobs.map((job) => this.outbox.send(commandOf(job))));
      const sent = jobs.filter((_, i) => outcomes[i] === 'sent').map((job) => job.id);
      if (sent.length > 0) {
        await tx.query(`UPDATE gateway.jobs SET dispatched = true WHERE id = ANY($1::uuid[])`, [sent]);
        this.logger.log(`Relayed ${sent.length} job command(s) the fast path did not confirm`);
      }
      await failUnsendable(
        tx,
        jobs.map((job, i) => [job.id, outcomes[i]]),
      );
      return sent.length;
    });
  }

  /** Outbox rows that are due (delayed jobs, replays, cancel requests, what the fast path missed). */
  private async relayOutbox(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<OutboxRow[]>(
        `SELECT id, job_id, message_type, payload, meta FROM gateway.outbox
          WHERE due_at <= now()
          ORDER BY due_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
      );
      if (rows.length === 0) return 0;
      const outcomes = await Promise.all(rows.map((r) => this.outbox.send(toEntity(r))));
      const sent = rows.filter((_, i) => outcomes[i] === 'sent');
      const ids = sent.map((r) => r.id);
      // A row that can never go out leaves the outbox (it would be picked first at every pass, for good),
      // and its job, if it has not started, fails saying why.
      const unsendable = rows.filter((_, i) => isUnsendable(outcomes[i]));
      if (unsendable.length > 0) {
        await tx.query(`DELETE FROM gateway.outbox WHERE id = ANY($1::uuid[])`, [
          unsendable.map((r) => r.id),
        ]);
        await failUnsendable(
          tx,
          rows.map((r, i) => [r.job_id, outcomes[i]]),
        );
      }
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

function isUnsendable(outcome: Sent | undefined): outcome is { unsendable: string } {
  return typeof outcome === 'object';
}

/**
 * Jobs whose command can never be sent fail with `invalid_payload`, as a worker would fail them, unless
 * they have moved on already (started, cancelled, ...). The status change bumps `seq` like any other.
 */
async function failUnsendable(
  tx: EntityManager,
  outcomes: readonly (readonly [string, Sent | undefined])[],
): Promise<void> {
  const failed = outcomes.filter(([, outcome]) => isUnsendable(outcome));
  if (failed.length === 0) return;
  await tx.query(
    `UPDATE gateway.jobs j SET status = 'failed', dispatched = true, seq = j.seq + 1, updated_at = now(),
            finished_at = now(), error = jsonb_build_object('code', 'invalid_payload', 'message', f.message)
       FROM unnest($1::uuid[], $2::text[]) AS f (id, message)
      WHERE j.id = f.id AND j.status IN ('scheduled', 'queued')`,
    [
      failed.map(([id]) => id),
      failed.map(([, outcome]) => (isUnsendable(outcome) ? outcome.unsendable : '')),
    ],
  );
}

/** Jobs whose row is their outbox record and whose command is not known to have reached the broker. */
const UNDISPATCHED = `WHERE status = 'queued' AND seq = 1 AND NOT dispatched`;

/** A job's command as the fast path sent it: the accepted input without `runAt` and `notify`. */
function commandOf(job: UndispatchedJob): OutboxMessage {
  const payload = { ...job.input };
  delete payload.runAt;
  delete payload.notify;
  const notify = job.input.notify;
  return {
    id: job.id,
    jobId: job.id,
    messageType: JobKinds[job.kind].command.name,
    payload,
    meta: {
      tenant: job.tenant,
      maxAttempts: job.max_attempts,
      ...(job.traceparent === null ? {} : { traceparent: job.traceparent }),
      ...(notify === undefined ? {} : { notify: notify as Notify }),
    },
  };
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

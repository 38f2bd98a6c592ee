import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { commandContracts, contractFor, INT4_MAX, JOB_KINDS, jobKindOf, JobKinds, Notify } from '#contracts';
import { errorMessageOf, Header, replayCountOf } from '#messaging';
import type { Principal } from '../auth/principal.js';
import { decodeCursor, PAGE_QUERY, pageOf } from '../jobs/job-cursor.js';
import { InvalidInputError, JobNotFoundError, JobStateConflictError } from '../jobs/job-errors.js';
import { JobEntity } from '../jobs/job.entity.js';
import type { OutboxMessage, OutboxMeta } from '../outbox/outbox.entity.js';
import { OutboxPublisher } from '../outbox/outbox.publisher.js';
import type { GatewayConfig } from '../gateway.config.js';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';

/** An archived dead letter as the admin API shows it (API.md, "Administration"). */
export interface DeadLetterView {
  id: string;
  jobId: string | null;
  tenant: string | null;
  queue: string;
  routingKey: string;
  attempts: number;
  error: { message: string; code: string };
  deadAt: string;
  payload: unknown;
  replayedAt: string | null;
  replayedBy: string | null;
  replayedPayload: unknown;
  deadReason: string | null;
  headers: Record<string, unknown>;
}

export const DeadLetterQuery = z.strictObject({
  queue: z.string().max(255).optional(),
  kind: z.enum(JOB_KINDS).optional(),
  jobId: z.uuid().optional(),
  state: z.enum(['pending', 'all']).default('pending'),
  ...PAGE_QUERY,
});
export type DeadLetterQuery = z.output<typeof DeadLetterQuery>;

export const BulkReplay = z.strictObject({
  queue: z.string().max(255).optional(),
  kind: z.enum(JOB_KINDS).optional(),
  errorCode: z.string().max(128).optional(),
});
export type BulkReplay = z.output<typeof BulkReplay>;

export class DeadLetterNotFoundError extends JobNotFoundError {
  constructor(id: string) {
    super(id);
    this.message = `Dead letter ${id} not found`;
  }
}

interface DeadLetterRow {
  id: string;
  job_id: string | null;
  tenant: string | null;
  queue: string;
  routing_key: string;
  payload: unknown;
  raw_body: string | null;
  headers: Record<string, unknown>;
  error: { message: string; code: string };
  attempts: number;
  dead_reason: string | null;
  dead_at: Date;
  replayed_at: Date | null;
  replayed_by: string | null;
  replay_payload: unknown;
}

/**
 * The dead-letter archive's admin side: list, replay (the same job back to `queued` with attempts 0, the
 * command re-sent through the outbox), bulk replay paced so a storm cannot flood the workers, discard.
 * Every replay marks its entry in the same transaction that re-queues the job, so an entry is replayed
 * exactly once however many requests race for it.
 */
@Injectable()
export class DeadLetters {
  private readonly logger = new Logger(DeadLetters.name);
  private readonly replayGapMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(OutboxPublisher) private readonly outbox: OutboxPublisher,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.replayGapMs = 1000 / config.REPLAY_RATE;
  }

  async list(query: DeadLetterQuery): Promise<{ items: DeadLetterView[]; nextCursor: string | null }> {
    const where = ['discarded_at IS NULL'];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (query.state === 'pending') where.push('replayed_at IS NULL');
    if (query.queue) where.push(`queue = ${param(query.queue)}`);
    if (query.kind) where.push(`routing_key = ${param(JobKinds[query.kind].command.name)}`);
    if (query.jobId) where.push(`job_id = ${param(query.jobId)}`);
    if (query.cursor) {
      const cursor = decodeCursor(query.cursor);
      where.push(`(dead_at, id) < (${param(cursor.createdAt)}::timestamptz, ${param(cursor.id)}::uuid)`);
    }
    const rows = await this.db.query<DeadLetterRow[]>(
      `SELECT * FROM gateway.dead_letters WHERE ${where.join(' AND ')}
        ORDER BY dead_at DESC, id DESC LIMIT ${query.limit + 1}`,
      params,
    );
    const page = pageOf(rows, query.limit, (row) => ({ createdAt: row.dead_at.toISOString(), id: row.id }));
    return { items: page.items.map(toView), nextCursor: page.nextCursor };
  }

  async get(id: string): Promise<DeadLetterView> {
    const rows = await this.db.query<DeadLetterRow[]>(
      `SELECT * FROM gateway.dead_letters WHERE id = $1 AND discarded_at IS NULL`,
      [id],
    );
    if (!rows[0]) throw new DeadLetterNotFoundError(id);
    return toView(rows[0]);
  }

  /** One entry, optionally with an edited payload; the job is returned back in `queued`. */
  async replay(principal: Principal, id: string, edited: unknown): Promise<JobEntity> {
    const { job, message } = await this.db.transaction(async (tx) => {
      const rows = await tx.query<DeadLetterRow[]>(
        `SELECT * FROM gateway.dead_letters WHERE id = $1 AND discarded_at IS NULL FOR UPDATE`,
        [id],
      );
      const entry = rows[0];
      if (!entry) throw new DeadLetterNotFoundError(id);
      if (entry.replayed_at) throw new JobStateConflictError(id, `Dead letter ${id} was replayed already`);
      if (edited === undefined && (entry.payload === null || entry.payload === undefined)) {
        throw new JobStateConflictError(
          id,
          'The archived body is not JSON: replay it with an edited payload',
        );
      }
      // The archived payload is checked like an edit: one its contract refuses (the reason it was
      // dead-lettered, often) would only fail its job again at the relay, with the letter spent.
      // (A letter of no command is refused by requeue, saying why.)
      const payload =
        edited !== undefined
          ? validPayload(entry, edited)
          : jobKindOf(entry.routing_key)
            ? validPayload(entry, entry.payload, true)
            : entry.payload;
      // Published right after the commit; the relay's only if that did not get through.
      const message = await this.requeue(tx, entry, payload, this.outbox.fastPathDueAt());
      await tx.query(
        `UPDATE gateway.dead_letters SET replayed_at = now(), replayed_by = $2, replay_payload = $3 WHERE id = $1`,
        [id, principal.actor, edited === undefined ? null : JSON.stringify(edited)],
      );
      return { job: await tx.getRepository(JobEntity).findOneByOrFail({ id: message.jobId }), message };
    });
    this.outbox.publishAndForget(message).catch((error: unknown) => {
      this.logger.warn(`Replay of job ${job.id} not published yet: ${errorMessageOf(error)}`);
    });
    return job;
  }

  /**
   * Every pending entry matching the filter, each exactly once (entries are claimed with SKIP LOCKED and
   * marked in the same transaction). The commands leave through the outbox relay spaced `1/REPLAY_RATE`
   * apart. Entries whose job cannot be replayed (no job, job not failed, body not JSON) and events' letters
   * are left pending.
   */
  async replayMatching(principal: Principal, filter: BulkReplay): Promise<number> {
    return this.db.transaction(async (tx) => {
      const where = ['d.discarded_at IS NULL', 'd.replayed_at IS NULL', 'd.payload IS NOT NULL'];
      const params: unknown[] = [];
      const param = (value: unknown) => `$${params.push(value)}`;
      // Commands only: an event's letter names a job too (a notice of its end), but replays nothing.
      where.push(`d.routing_key = ANY(${param(commandContracts().map((c) => c.name))}::text[])`);
      if (filter.queue) where.push(`d.queue = ${param(filter.queue)}`);
      if (filter.kind) where.push(`d.routing_key = ${param(JobKinds[filter.kind].command.name)}`);
      if (filter.errorCode) where.push(`d.error->>'code' = ${param(filter.errorCode)}`);
      const entries = await tx.query<DeadLetterRow[]>(
        `SELECT d.* FROM gateway.dead_letters d JOIN gateway.jobs j ON j.id = d.job_id AND j.status = 'failed'
          WHERE ${where.join(' AND ')} ORDER BY d.dead_at, d.id FOR UPDATE OF d SKIP LOCKED`,
        params,
      );
      // One entry per job: a job dead-lettered twice is replayed once (by its newest letter). A payload its
      // contract refuses is left pending: it needs an edited replay, and requeued as it is, it would fail its
      // job again at the relay with the letter spent.
      const newestPerJob = new Map<string, DeadLetterRow>();
      for (const entry of entries) if (entry.job_id) newestPerJob.set(entry.job_id, entry);
      for (const [jobId, entry] of newestPerJob) if (!fitsContract(entry)) newestPerJob.delete(jobId);
      let dueAt = Date.now();
      for (const entry of newestPerJob.values()) {
        await this.requeue(tx, entry, entry.payload, new Date(dueAt));
        dueAt += this.replayGapMs;
      }
      const replayed = [...newestPerJob.values()].map((e) => e.id);
      if (replayed.length > 0) {
        await tx.query(
          `UPDATE gateway.dead_letters SET replayed_at = now(), replayed_by = $2 WHERE id = ANY($1::uuid[])`,
          [replayed, principal.actor],
        );
      }
      return replayed.length;
    });
  }

  /**
   * Discards a pending letter: its job stays failed. A replayed one is a 409: its job runs again, and
   * discarding would say otherwise and hide who replayed it, and with what.
   */
  async discard(principal: Principal, id: string): Promise<void> {
    const [, count] = await this.db.query<[unknown, number]>(
      `UPDATE gateway.dead_letters SET discarded_at = now(), discarded_by = $2
        WHERE id = $1 AND discarded_at IS NULL AND replayed_at IS NULL`,
      [id, principal.actor],
    );
    if (count > 0) return;
    const [replayed] = await this.db.query<{ job_id: string | null }[]>(
      `SELECT job_id FROM gateway.dead_letters WHERE id = $1 AND discarded_at IS NULL AND replayed_at IS NOT NULL`,
      [id],
    );
    if (!replayed) throw new DeadLetterNotFoundError(id);
    throw new JobStateConflictError(
      replayed.job_id ?? id,
      `Dead letter ${id} was replayed already: its job runs again, there is nothing to discard`,
    );
  }

  /** The job back to `queued` with attempts 0, and its command in the outbox (due at `dueAt`). */
  private async requeue(
    tx: EntityManager,
    entry: DeadLetterRow,
    payload: unknown,
    dueAt: Date,
  ): Promise<OutboxMessage> {
    const contract = contractFor(entry.routing_key);
    if (contract?.kind === 'event') {
      throw new JobStateConflictError(
        entry.id,
        `This dead letter is an event (${contract.name}): only commands replay`,
      );
    }
    if (!entry.job_id || contract?.kind !== 'command') {
      throw new JobStateConflictError(entry.id, 'This dead letter carries no job to replay');
    }
    const headers = entry.headers;
    // The job's own count is the truth; the letter's covers jobs replayed before the job kept one.
    const lettered = Math.min(replayCountOf(headers), INT4_MAX - 1); // + 1 stays an integer
    const [rows] = await tx.query<[{ tenant: string; max_attempts: number; replays: number }[], number]>(
      `UPDATE gateway.jobs SET status = 'queued', attempts = 0, last_attempt = 0, progress = 0, error = NULL,
              result = NULL, finished_at = NULL, cancel_requested = false, replays = GREATEST(replays, $2) + 1,
              seq = seq + 1, updated_at = now()
        WHERE id = $1 AND status = 'failed'
        RETURNING tenant, max_attempts, replays`,
      [entry.job_id, lettered],
    );
    const job = rows[0];
    if (!job)
      throw new JobStateConflictError(entry.id, `Job ${entry.job_id} is not failed: nothing to replay`);
    const traceparent = headers[Header.traceparent];
    const notifyHeader = headers[Header.notify];
    const notify = Notify.safeParse(typeof notifyHeader === 'string' ? safeJson(notifyHeader) : undefined);
    const meta: OutboxMeta = {
      tenant: job.tenant,
      maxAttempts: job.max_attempts,
      replayCount: job.replays,
      ...(typeof traceparent === 'string' ? { traceparent } : {}),
      ...(notify.success ? { notify: notify.data } : {}),
    };
    const message: OutboxMessage = {
      id: randomUUID(),
      jobId: entry.job_id,
      messageType: contract.name,
      payload,
      meta,
    };
    await tx.query(
      `INSERT INTO gateway.outbox (id, job_id, message_type, payload, meta, created_at, due_at)
       VALUES ($1, $2, $3, $4, $5, now(), $6)`,
      [message.id, message.jobId, message.messageType, JSON.stringify(payload), JSON.stringify(meta), dueAt],
    );
    return message;
  }
}

/** `payload` as the command contract of the letter's job kind parses it; undefined for a letter of no job. */
function parseCommand(entry: DeadLetterRow, payload: unknown) {
  const kind = jobKindOf(entry.routing_key);
  return kind === undefined ? undefined : JobKinds[kind].command.schema.safeParse(payload);
}

/**
 * `payload` (an edit, or the archived one: `archived`) validated like a new submission of the letter's kind;
 * else 400.
 */
function validPayload(entry: DeadLetterRow, payload: unknown, archived = false): unknown {
  const parsed = parseCommand(entry, payload);
  if (!parsed) throw new JobStateConflictError(entry.id, 'This dead letter carries no job to replay');
  if (parsed.success) return parsed.data;
  throw new InvalidInputError([
    ...parsed.error.issues.map((issue) => `${['payload', ...issue.path].join('.')}: ${issue.message}`),
    ...(archived ? ['the archived payload does not fit its command: replay it with an edited payload'] : []),
  ]);
}

function fitsContract(entry: DeadLetterRow): boolean {
  return parseCommand(entry, entry.payload)?.success === true;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function toView(row: DeadLetterRow): DeadLetterView {
  return {
    id: row.id,
    jobId: row.job_id,
    tenant: row.tenant,
    queue: row.queue,
    routingKey: row.routing_key,
    attempts: row.attempts,
    error: row.error,
    deadAt: row.dead_at.toISOString(),
    payload: row.payload ?? row.raw_body,
    replayedAt: row.replayed_at?.toISOString() ?? null,
    replayedBy: row.replayed_by,
    replayedPayload: row.replay_payload,
    deadReason: row.dead_reason,
    headers: row.headers,
  };
}

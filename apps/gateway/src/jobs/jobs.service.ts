import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { JobKinds, type JobKind, type JobStatus } from '#contracts';
import { errorMessageOf } from '#messaging';
import { isAdmin, type Principal } from '../auth/principal.js';
import { OutboxEntity } from '../outbox/outbox.entity.js';
import { OutboxPublisher } from '../outbox/outbox.publisher.js';
import { decodeCursor, encodeCursor } from './job-cursor.js';
import { JobNotFoundError } from './job-errors.js';
import { JobEntity } from './job.entity.js';

export interface Submission {
  readonly kind: JobKind;
  /** The command payload, already validated against the kind's contract. */
  readonly command: unknown;
  /** The body as accepted, echoed back as the job's `input`. */
  readonly input: Record<string, unknown>;
  readonly traceparent?: string;
}

export interface JobQuery {
  readonly kind?: JobKind;
  readonly status?: JobStatus;
  readonly limit: number;
  readonly cursor?: string;
}

@Injectable()
export class JobsService {
  private readonly logger = new Logger(JobsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(OutboxPublisher) private readonly outbox: OutboxPublisher,
  ) {}

  /**
   * The job row and its outbox row in one transaction: once this returns, the job will run. The publish
   * happens after the commit, without holding up the response; the relay covers it if it fails.
   */
  async submit(principal: Principal, submission: Submission): Promise<JobEntity> {
    const spec = JobKinds[submission.kind];
    const now = new Date(); // millisecond precision, so keyset cursors round-trip exactly
    const job: JobEntity = Object.assign(new JobEntity(), {
      id: randomUUID(),
      tenant: principal.tenant,
      kind: submission.kind,
      status: 'queued',
      progress: 0,
      attempts: 0,
      lastAttempt: 0,
      maxAttempts: spec.maxAttempts,
      input: submission.input,
      result: null,
      error: null,
      cancelRequested: false,
      runAt: null,
      scheduleId: null,
      seq: '1',
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
    } satisfies JobEntity);
    const row: OutboxEntity = Object.assign(new OutboxEntity(), {
      id: randomUUID(),
      jobId: job.id,
      messageType: spec.command.name,
      payload: submission.command,
      meta: {
        tenant: principal.tenant,
        maxAttempts: spec.maxAttempts,
        ...(submission.traceparent === undefined ? {} : { traceparent: submission.traceparent }),
      },
      createdAt: now,
      sentAt: null,
    } satisfies OutboxEntity);

    // One statement, so one implicit transaction and one round trip: both rows or neither.
    await this.db.query(
      `WITH job AS (
         INSERT INTO gateway.jobs (id, tenant, kind, status, max_attempts, input, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)
         RETURNING id)
       INSERT INTO gateway.outbox (id, job_id, message_type, payload, meta, created_at)
       SELECT $7, job.id, $8, $9, $10, $6 FROM job`,
      [
        job.id,
        job.tenant,
        job.kind,
        job.maxAttempts,
        JSON.stringify(job.input),
        now,
        row.id,
        row.messageType,
        JSON.stringify(row.payload),
        JSON.stringify(row.meta),
      ],
    );
    this.outbox.publishAndMark(row).catch((error: unknown) => {
      this.logger.warn(`Fast-path publish of job ${job.id} failed: ${errorMessageOf(error)}`);
    });
    return job;
  }

  /** The caller's job; admins read any tenant's. Another tenant's job is "not found", never "forbidden". */
  async get(principal: Principal, id: string): Promise<JobEntity> {
    const job = await this.db
      .getRepository(JobEntity)
      .findOneBy(isAdmin(principal) ? { id } : { id, tenant: principal.tenant });
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(
    principal: Principal,
    query: JobQuery,
  ): Promise<{ items: JobEntity[]; nextCursor: string | null }> {
    const qb = this.db.getRepository(JobEntity).createQueryBuilder('job');
    if (!isAdmin(principal)) qb.andWhere('job.tenant = :tenant', { tenant: principal.tenant });
    if (query.kind) qb.andWhere('job.kind = :kind', { kind: query.kind });
    if (query.status) qb.andWhere('job.status = :status', { status: query.status });
    if (query.cursor) {
      const cursor = decodeCursor(query.cursor);
      qb.andWhere('(job.created_at, job.id) < (:createdAt::timestamptz, :id::uuid)', cursor);
    }
    const rows = await qb
      .orderBy('job.created_at', 'DESC')
      .addOrderBy('job.id', 'DESC')
      .limit(query.limit + 1)
      .getMany();
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id })
        : null;
    return { items, nextCursor };
  }
}

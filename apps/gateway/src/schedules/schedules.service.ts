import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isAdmin, type Principal } from '../auth/principal.js';
import { InvalidInputError } from '../jobs/job-errors.js';
import { decodeCursor, pageOf } from '../jobs/job-cursor.js';
import { CronSchedule, isCronSchedule } from './cron-schedule.js';
import { ScheduleNotFoundError } from './schedule-errors.js';
import type { ScheduledJob } from './schedule-request.js';
import type { ScheduleRow } from './schedule.view.js';

export interface NewSchedule {
  readonly cron: string;
  readonly timezone?: string | undefined;
  readonly job: ScheduledJob;
}

export interface ScheduleQuery {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

const COLUMNS = 'id, tenant, cron, timezone, kind, body, next_run_at, last_run_at, created_at';

/** Schedules of a tenant (admins: of all): create, read, list, delete. The dispatcher runs them. */
@Injectable()
export class SchedulesService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async create(principal: Principal, request: NewSchedule): Promise<ScheduleRow> {
    const schedule = CronSchedule.parse(request.cron, request.timezone);
    if (!isCronSchedule(schedule)) throw new InvalidInputError(schedule.problems);
    const now = new Date(); // millisecond precision, so keyset cursors round-trip exactly
    const rows = await this.db.query<ScheduleRow[]>(
      `INSERT INTO gateway.schedules (id, tenant, cron, timezone, kind, body, next_run_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING ${COLUMNS}`,
      [
        randomUUID(),
        principal.tenant,
        schedule.cron,
        schedule.timezone,
        request.job.kind,
        JSON.stringify(request.job.body),
        schedule.nextAfter(now),
        now,
      ],
    );
    const row = rows[0];
    if (!row) throw new Error('INSERT … RETURNING returned no row');
    return row;
  }

  /** The caller's schedule; admins read any tenant's. Deleted ones are gone. */
  async get(principal: Principal, id: string): Promise<ScheduleRow> {
    const rows = await this.db.query<ScheduleRow[]>(
      `SELECT ${COLUMNS} FROM gateway.schedules
        WHERE id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR tenant = $2)`,
      [id, tenantFilter(principal)],
    );
    const row = rows[0];
    if (!row) throw new ScheduleNotFoundError(id);
    return row;
  }

  /** Newest first, keyset-paginated on (created_at, id), like the jobs listing. */
  async list(
    principal: Principal,
    query: ScheduleQuery,
  ): Promise<{ items: ScheduleRow[]; nextCursor: string | null }> {
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.db.query<ScheduleRow[]>(
      `SELECT ${COLUMNS} FROM gateway.schedules
        WHERE deleted_at IS NULL AND ($1::text IS NULL OR tenant = $1)
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $4`,
      [tenantFilter(principal), cursor?.createdAt ?? null, cursor?.id ?? null, query.limit + 1],
    );
    return pageOf(rows, query.limit, (row) => ({ createdAt: row.created_at.toISOString(), id: row.id }));
  }

  /**
   * Stops the schedule: no run starts after this commits (a run the dispatcher holds commits first, as
   * the update waits for its row lock). Jobs it made stay as they are.
   */
  async remove(principal: Principal, id: string): Promise<void> {
    const [, affected] = await this.db.query<[unknown, number]>(
      `UPDATE gateway.schedules SET deleted_at = now()
        WHERE id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR tenant = $2)`,
      [id, tenantFilter(principal)],
    );
    if (affected === 0) throw new ScheduleNotFoundError(id);
  }
}

/** The tenant a caller is limited to; null for admins. */
function tenantFilter(principal: Principal): string | null {
  return isAdmin(principal) ? null : principal.tenant;
}

import type { JobKind } from '#contracts';

/** A schedule as `gateway.schedules` holds it. */
export interface ScheduleRow {
  id: string;
  tenant: string;
  cron: string;
  timezone: string;
  kind: JobKind;
  body: Record<string, unknown>;
  next_run_at: Date;
  last_run_at: Date | null;
  created_at: Date;
}

/** A schedule as every route returns it (API.md, "Schedules"). */
export interface ScheduleView {
  id: string;
  cron: string;
  timezone: string;
  /** The next due time; after downtime it may be in the past until the dispatcher's catch-up run. */
  nextRunAt: string;
  /** The due time of the latest run. */
  lastRunAt?: string;
  job: { kind: JobKind; body: Record<string, unknown> };
  createdAt: string;
  links: { self: string };
}

export function toScheduleView(row: ScheduleRow): ScheduleView {
  const view: ScheduleView = {
    id: row.id,
    cron: row.cron,
    timezone: row.timezone,
    nextRunAt: row.next_run_at.toISOString(),
    job: { kind: row.kind, body: row.body },
    createdAt: row.created_at.toISOString(),
    links: { self: `/v1/schedules/${row.id}` },
  };
  if (row.last_run_at) view.lastRunAt = row.last_run_at.toISOString();
  return view;
}

import { isCalendarDate, type GenerateReport } from '#contracts';
import { PermanentError } from '#messaging';

export type OrderFilters = NonNullable<GenerateReport['filters']>;

/** A filter date that has the right shape but is not a day of the calendar (`2026-02-30`). */
export class InvalidOrderFilterError extends PermanentError {
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`filters.${field}: "${value}" is not a calendar date`, 'invalid_filter');
  }
}

export interface SqlCondition {
  /** `WHERE …`, or empty when nothing is filtered. */
  readonly where: string;
  readonly params: (string | Date)[];
}

const DAY_MS = 86_400_000;

/**
 * The report filters as SQL on `report.orders`: `from` and `to` are UTC days, both included (`to` up to the
 * end of its day, as a half-open bound so no instant of that day is lost), `status` an equality.
 */
export function orderFilterSql(filters: OrderFilters = {}): SqlCondition {
  const clauses: string[] = [];
  const params: (string | Date)[] = [];
  if (filters.from !== undefined) {
    params.push(utcDay('from', filters.from));
    clauses.push(`created_at >= $${params.length}`);
  }
  if (filters.to !== undefined) {
    params.push(new Date(utcDay('to', filters.to).getTime() + DAY_MS));
    clauses.push(`created_at < $${params.length}`);
  }
  if (filters.status !== undefined) {
    params.push(filters.status);
    clauses.push(`status = $${params.length}`);
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function utcDay(field: string, day: string): Date {
  // The gateway refuses such a day with a 400 now; a command from before that (or another publisher) may
  // still carry one. Date would roll 2026-02-30 over to March 2nd instead of refusing it.
  if (!isCalendarDate(day)) throw new InvalidOrderFilterError(field, day);
  return new Date(`${day}T00:00:00.000Z`);
}

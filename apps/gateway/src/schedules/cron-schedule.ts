import { Cron } from 'croner';

/** A cron expression in a time zone, parsed once: what a schedule's due times are computed from. */
export class CronSchedule {
  private constructor(
    readonly cron: string,
    readonly timezone: string,
    private readonly pattern: Cron,
  ) {}

  /**
   * Parses `cron` (5 fields, or 6 with seconds first; no `@daily` nicknames) in the IANA `timezone`,
   * returning the problems instead when it is not one. A pattern that never fires (`0 0 30 2 *`) is a problem.
   */
  static parse(cron: string, timezone = 'UTC'): CronSchedule | { problems: string[] } {
    const zone = canonicalTimeZone(timezone);
    const problems: string[] = [];
    if (zone === undefined) problems.push('timezone: must be an IANA time zone, e.g. Europe/Berlin');
    const fields = cron.trim().split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) {
      problems.push('cron: must have 5 fields, or 6 with seconds first');
      return { problems };
    }
    let pattern: Cron;
    try {
      pattern = new Cron(fields.join(' '), { paused: true, mode: '5-or-6-parts', timezone: zone ?? 'UTC' });
    } catch (error) {
      problems.push(
        `cron: ${error instanceof Error ? error.message.replace(/^CronPattern: /, '') : 'invalid'}`,
      );
      return { problems };
    }
    if (zone === undefined) return { problems };
    if (pattern.nextRun(new Date()) === null) problems.push('cron: never fires');
    return problems.length > 0 ? { problems } : new CronSchedule(fields.join(' '), zone, pattern);
  }

  /**
   * The first due time strictly after `after`, in the schedule's zone. Across a DST change croner treats
   * fixed-time patterns (`30 2 * * *`) as wall-clock appointments: in the spring gap they run at the first
   * valid time after it, in the autumn overlap once; interval patterns keep their real-time spacing.
   */
  nextAfter(after: Date): Date {
    const next = this.pattern.nextRun(after);
    // Only patterns that stop firing (a fixed year) return null; parse() refused those that never fire at all.
    if (next === null) throw new Error(`cron ${this.cron} has no run after ${after.toISOString()}`);
    return next;
  }
}

/** The canonical name of an IANA time zone (`europe/berlin` → `Europe/Berlin`), or undefined. */
function canonicalTimeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export function isCronSchedule(parsed: CronSchedule | { problems: string[] }): parsed is CronSchedule {
  return parsed instanceof CronSchedule;
}

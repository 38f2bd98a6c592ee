import { describe, expect, it } from '@jest/globals';
import { planRun } from './schedule-dispatcher.js';

describe(planRun.name, () => {
  const everySecond = { cron: '* * * * * *', timezone: 'UTC' };

  it('runs a schedule that just came due for that due time, and is due next on the following tick', () => {
    const dueAt = new Date('2026-05-01T10:00:00.000Z');
    const run = planRun({ ...everySecond, next_run_at: dueAt }, new Date('2026-05-01T10:00:00.300Z'));
    expect(run).toEqual({ dueAt, nextRunAt: new Date('2026-05-01T10:00:01.000Z') });
  });

  it('after downtime makes one catch-up run for the oldest missed time and skips to after now', () => {
    const dueAt = new Date('2026-05-01T10:00:00.000Z');
    const run = planRun({ ...everySecond, next_run_at: dueAt }, new Date('2026-05-01T10:00:03.500Z'));
    expect(run.dueAt).toEqual(dueAt);
    // Not 10:00:01, which would make the next passes create one job per missed second.
    expect(run.nextRunAt).toEqual(new Date('2026-05-01T10:00:04.000Z'));
  });

  it('after a day down, a daily Berlin schedule runs once and is next due at tomorrow 06:00 local', () => {
    const run = planRun(
      { cron: '0 6 * * *', timezone: 'Europe/Berlin', next_run_at: new Date('2026-03-27T05:00:00Z') },
      new Date('2026-03-28T09:00:00Z'),
    );
    expect(run.nextRunAt).toEqual(new Date('2026-03-29T04:00:00Z'));
  });
});

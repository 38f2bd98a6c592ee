import { describe, expect, it } from '@jest/globals';
import { CronSchedule, isCronSchedule } from './cron-schedule.js';

const parse = (cron: string, timezone?: string): CronSchedule => {
  const parsed = CronSchedule.parse(cron, timezone);
  if (!isCronSchedule(parsed)) throw new Error(parsed.problems.join('; '));
  return parsed;
};
const problemsOf = (cron: string, timezone?: string): string[] => {
  const parsed = CronSchedule.parse(cron, timezone);
  return isCronSchedule(parsed) ? [] : parsed.problems;
};
const iso = (d: Date) => d.toISOString();

describe(CronSchedule.name, () => {
  it('takes 5 fields, or 6 with seconds first, in UTC unless told otherwise', () => {
    const daily = parse('0 6 * * *');
    expect(daily.timezone).toBe('UTC');
    expect(iso(daily.nextAfter(new Date('2026-01-10T05:59:59Z')))).toBe('2026-01-10T06:00:00.000Z');
    const everyTenSeconds = parse('*/10 * * * * *');
    expect(iso(everyTenSeconds.nextAfter(new Date('2026-01-10T05:59:55Z')))).toBe('2026-01-10T06:00:00.000Z');
  });

  it('refuses other field counts, nicknames, bad values, patterns that never fire and unknown zones', () => {
    expect(problemsOf('* * * *')).toEqual(['cron: must have 5 fields, or 6 with seconds first']);
    expect(problemsOf('* * * * * * *')).toEqual(['cron: must have 5 fields, or 6 with seconds first']);
    expect(problemsOf('@daily')).toEqual(['cron: must have 5 fields, or 6 with seconds first']);
    expect(problemsOf('61 * * * *')).toEqual([expect.stringMatching(/^cron: .*minute/)]);
    expect(problemsOf('0 0 30 2 *')).toEqual(['cron: never fires']);
    expect(problemsOf('0 6 * * *', 'Mars/Olympus_Mons')).toEqual([
      'timezone: must be an IANA time zone, e.g. Europe/Berlin',
    ]);
  });

  it('names the zone canonically', () => {
    expect(parse('0 6 * * *', 'europe/berlin').timezone).toBe('Europe/Berlin');
  });

  it('is strictly after: a due time is never its own next run', () => {
    const everySecond = parse('* * * * * *');
    expect(iso(everySecond.nextAfter(new Date('2026-01-10T06:00:00.000Z')))).toBe('2026-01-10T06:00:01.000Z');
    expect(iso(everySecond.nextAfter(new Date('2026-01-10T06:00:00.999Z')))).toBe('2026-01-10T06:00:01.000Z');
  });

  describe('across DST in Europe/Berlin (clocks go 02:00 → 03:00 on 2026-03-29, 03:00 → 02:00 on 2026-10-25)', () => {
    it('keeps a daily 06:00 at 06:00 local time: 05:00 UTC before the change, 04:00 after', () => {
      const sut = parse('0 6 * * *', 'Europe/Berlin');
      expect(iso(sut.nextAfter(new Date('2026-03-27T05:00:00Z')))).toBe('2026-03-28T05:00:00.000Z');
      expect(iso(sut.nextAfter(new Date('2026-03-28T05:00:00Z')))).toBe('2026-03-29T04:00:00.000Z');
      expect(iso(sut.nextAfter(new Date('2026-10-24T04:00:00Z')))).toBe('2026-10-25T05:00:00.000Z');
    });

    it('runs a 02:30 that does not exist on the spring day once, at 03:00 CEST, and the next day at 02:30 again', () => {
      const sut = parse('30 2 * * *', 'Europe/Berlin');
      expect(iso(sut.nextAfter(new Date('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
      expect(iso(sut.nextAfter(new Date('2026-03-29T01:00:00Z')))).toBe('2026-03-30T00:30:00.000Z');
    });

    it('runs a 02:30 that happens twice on the autumn day once', () => {
      const sut = parse('30 2 * * *', 'Europe/Berlin');
      const first = sut.nextAfter(new Date('2026-10-24T12:00:00Z'));
      expect(iso(first)).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
      expect(iso(sut.nextAfter(first))).toBe('2026-10-26T01:30:00.000Z'); // not 02:30 CET the same day
    });

    it('keeps an every-30-minutes pattern every 30 real minutes through the spring gap', () => {
      const sut = parse('*/30 * * * *', 'Europe/Berlin');
      let at = new Date('2026-03-29T00:00:00Z');
      const runs: string[] = [];
      for (let i = 0; i < 4; i++) runs.push(iso((at = sut.nextAfter(at))));
      expect(runs).toEqual([
        '2026-03-29T00:30:00.000Z',
        '2026-03-29T01:00:00.000Z', // 03:00 CEST: 02:00 and 02:30 local never happened
        '2026-03-29T01:30:00.000Z',
        '2026-03-29T02:00:00.000Z',
      ]);
    });
  });
});

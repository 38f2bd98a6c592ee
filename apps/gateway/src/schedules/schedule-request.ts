import { z } from 'zod';
import { GenerateReport, RunEcho, SendNotification } from '#contracts';
import { CronSchedule, isCronSchedule } from './cron-schedule.js';

/**
 * Payment schedules are refused: each run would be charged at most once (one job per due time, and the
 * payment service's inbox per job), but nothing makes the schedule itself idempotent, so a client
 * retrying a timed-out `POST /v1/schedules` would get two schedules and charge every period twice.
 * Recurring billing needs a mandate and that idempotency story first.
 */
const PAYMENTS_REFUSED =
  'payment schedules are not supported: submit each charge to POST /v1/payments with its own Idempotency-Key';

/**
 * What a schedule runs: a kind and the body a submission of that kind takes, validated by the same
 * contract schemas (unknown fields refused). `runAt` and `notify` are not part of a schedule's body.
 */
export const ScheduledJob = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('report'), body: GenerateReport }),
  z.strictObject({ kind: z.literal('echo'), body: RunEcho }),
  z.strictObject({ kind: z.literal('notification'), body: SendNotification }),
  z.strictObject({ kind: z.literal('payment'), body: z.unknown() }).check((ctx) => {
    ctx.issues.push({ code: 'custom', path: ['kind'], message: PAYMENTS_REFUSED, input: ctx.value });
  }),
]);
export type ScheduledJob = z.output<typeof ScheduledJob>;

export const CreateScheduleBody = z
  .strictObject({
    cron: z
      .string()
      .min(1)
      .max(200)
      .meta({ examples: ['0 6 * * *', '*/10 * * * * *'] }),
    timezone: z.string().min(1).max(64).optional().meta({ description: 'IANA time zone; UTC when absent' }),
    job: ScheduledJob,
  })
  .check((ctx) => {
    const parsed = CronSchedule.parse(ctx.value.cron, ctx.value.timezone);
    if (isCronSchedule(parsed)) return;
    for (const problem of parsed.problems) {
      const [field = 'cron', ...rest] = problem.split(': ');
      ctx.issues.push({ code: 'custom', path: [field], message: rest.join(': '), input: ctx.value });
    }
  });
export type CreateScheduleBody = z.output<typeof CreateScheduleBody>;

import { z } from 'zod';
import { durationMs, parseDuration, serviceConfigSchema } from '#config';

const retention = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a positive duration like 12h, 7d` });
    return z.NEVER;
  }
  return ms;
});

/** The common service settings plus report-service's own. */
export const reportServiceConfigSchema = serviceConfigSchema(3001).extend({
  /** Orders the demo dataset is seeded up to at start (only the missing ones are added). */
  ORDERS_SEED_ROWS: z.coerce.number().int().min(0).max(100_000_000).default(100_000),
  /** How long a finished report stays downloadable (milliseconds once parsed). */
  ARTIFACT_RETENTION: retention.default(7 * 86_400_000),
  ARTIFACT_SWEEP_INTERVAL: retention.default(60_000),
  /**
   * How long an expired file is kept before the sweep deletes it: a download that began before the expiry
   * (the gateway answers 410 from the expiry on) can still finish.
   */
  ARTIFACT_DELETE_GRACE: durationMs.default(3_600_000),
});

export type ReportServiceConfig = z.output<typeof reportServiceConfigSchema>;

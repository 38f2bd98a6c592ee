import { z } from 'zod';
import { parseDuration } from './duration.js';

const url = (protocols: readonly string[], example: string) =>
  z.string().refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
    message: `must be a URL like ${example}`,
  });

/** A duration like `500ms`, `5s`, `2m`, `1h` (or a bare `0`), as milliseconds. */
export const durationMs = z.string().transform((v, ctx) => {
  const ms = v.trim() === '0' ? 0 : parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration like 500ms, 5s, 2m, 1h` });
    return z.NEVER;
  }
  return ms;
});

/** Node's timers take at most this long; a longer delay fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A duration that sets a timer or a deadline: more than zero (zero spins a loop, or leases every delivery at
 * once) and at most ~24.8 days (Node fires a longer timer after 1 ms).
 */
export const timerMs = durationMs.refine((ms) => ms > 0 && ms <= MAX_TIMER_MS, {
  message: 'must be more than 0 and at most 24d',
});

const retryTiers = z.string().transform((v, ctx) => {
  const tiers = v.split(',').map((t) => parseDuration(t));
  if (tiers.length === 0 || tiers.some((t) => t === undefined || t <= 0)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a comma-separated list of durations, e.g. 1s,5s,30s,2m,10m',
    });
    return z.NEVER;
  }
  return tiers as number[];
});

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);

/** Settings every service reads: where the broker and database are, and how messaging behaves. */
export const commonConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  RABBITMQ_URL: url(['amqp:', 'amqps:'], 'amqp://user:pass@host:5672').default(
    'amqp://guest:guest@127.0.0.1:5672',
  ),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user@host:5432/db').default(
    'postgres://postgres@127.0.0.1:5432/conveyor',
  ),
  CONVEYOR_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'must be lower-case letters, digits, - or _ (at most 41 characters)')
    .default('conveyor'),
  /**
   * Postgres cancels a statement that runs longer (`statement_timeout` of each service's pool), and a pool
   * gives up on a connection whose answer takes this plus 5 s (a frozen or silent server, answer-deadline.ts):
   * with Postgres frozen, a submit is answered 503 after at most that long.
   */
  DATABASE_STATEMENT_TIMEOUT: timerMs.default(30_000),
  RETRY_TIERS: retryTiers.default([1000, 5000, 30_000, 120_000, 600_000]),
  PUBLISH_CONFIRM_TIMEOUT: timerMs.default(10_000),
  SHUTDOWN_GRACE: durationMs.default(25_000),
  /**
   * A delivery whose handler runs longer than this is handed back to the broker as a lease (a delayed copy)
   * and acked, so no delivery stays unacked near RabbitMQ's consumer_timeout (30 min by default).
   */
  LEASE_AFTER: timerMs.default(300_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** JSON lines (production) or human-readable (development); by default decided by NODE_ENV. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
});

export type CommonConfig = z.output<typeof commonConfigSchema>;

/** The common settings plus the service's own `PORT` (default per service: gateway 3000 … notification 3003). */
export function serviceConfigSchema(defaultPort: number) {
  return commonConfigSchema.extend({ PORT: port(defaultPort) });
}

export type ServiceConfig = z.output<ReturnType<typeof serviceConfigSchema>>;

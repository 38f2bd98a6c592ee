import { z } from 'zod';
import { durationMs, serviceConfigSchema, timerMs } from '#config';
import { parseApiKeys } from './auth/api-keys.js';

/** Works out of the box in development; documented in the README. Never used in production. */
export const DEVELOPMENT_API_KEYS = 'dev:dev-key:jobs:write+jobs:read+admin,dev:dev-read-key:jobs:read';

export const gatewayConfigSchema = serviceConfigSchema(3000)
  .extend({
    API_KEYS: z.string().optional(),
    OUTBOX_RELAY_INTERVAL: timerMs.default(1_000),
    /** How often the schedule dispatcher looks for due schedules (and so how late a run may start). */
    SCHEDULE_TICK: timerMs.default(500),
    /**
     * How often the connection that LISTENs for job changes (SSE) is asked to answer; one that has not
     * answered by the next ask is dropped and made again, and the watched jobs are read afresh.
     */
    JOB_CHANGES_HEARTBEAT: timerMs.default(10_000),
    /** Finished jobs' records are deleted this long after they finished (job-retention.ts); 0 keeps them. */
    JOB_RETENTION: durationMs.default(30 * 24 * 3_600_000),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
    /** Requests per second each API key may make (token bucket refill), and the burst it may save up. */
    RATE_LIMIT_PER_SECOND: z.coerce.number().positive().max(1_000_000).default(1000),
    RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(10_000_000).default(2000),
    /** Jobs a tenant may have queued, running or retrying at once; submits beyond it get 429. */
    MAX_IN_FLIGHT_PER_TENANT: z.coerce.number().int().min(1).max(100_000_000).default(100_000),
    /** Bulk dead-letter replays are published at most this many per second. */
    REPLAY_RATE: z.coerce.number().int().min(1).max(10_000).default(50),
    /**
     * RabbitMQ's management API, for `GET /v1/admin/queues` (unacked counts and every queue of the prefix);
     * without it, the gateway reads what a passive declare tells (ready and consumers only).
     */
    RABBITMQ_MANAGEMENT_URL: z.url({ protocol: /^https?$/ }).optional(),
  })
  .transform((config, ctx) => {
    const source = config.API_KEYS ?? (config.NODE_ENV === 'production' ? undefined : DEVELOPMENT_API_KEYS);
    if (source === undefined) {
      ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: 'is required in production' });
      return z.NEVER;
    }
    const parsed = parseApiKeys(source);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: parsed.error });
      return z.NEVER;
    }
    return { ...config, apiKeys: parsed.keys };
  });

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

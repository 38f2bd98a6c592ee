import type { DatabaseOptions } from '#database';
import type { GatewayConfig } from './gateway.config.js';
import { JobEntity } from './jobs/job.entity.js';
import { gatewayMigrations } from './migrations/index.js';
import { OutboxEntity } from './outbox/outbox.entity.js';

export const GATEWAY_SCHEMA = 'gateway';

export function gatewayDatabase(config: GatewayConfig): DatabaseOptions {
  return {
    url: config.DATABASE_URL,
    schema: GATEWAY_SCHEMA,
    entities: [JobEntity, OutboxEntity],
    migrations: gatewayMigrations,
    applicationName: 'conveyor-gateway',
    poolSize: config.DATABASE_POOL_SIZE,
  };
}

import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { loadConfig } from '#config';
import { MessagePublisher, startTransport } from '#messaging';
import { TEST_RABBITMQ_URL } from '#testing';
import { prepareNotificationDatabase } from '../src/notification-database.js';
import { notificationServiceConfigSchema } from '../src/notification-service.config.js';
import { NotificationServiceModule } from '../src/notification-service.module.js';

export interface RunningNotificationService {
  readonly app: INestApplication;
  readonly publisher: MessagePublisher;
  readonly dataSource: DataSource;
}

/** The tenant the tests sign webhooks for, and its secret. */
export const TEST_TENANT = 'acme';
export const TEST_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

/**
 * notification-service as `main.ts` starts it (migrations, the real module with its consumers), in this
 * process, against the given database, broker prefix and environment. Close it with `app.close()`.
 */
export async function startNotificationService(options: {
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly env: Record<string, string>;
}): Promise<RunningNotificationService> {
  const config = loadConfig(notificationServiceConfigSchema, {
    DATABASE_URL: options.databaseUrl,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    CONVEYOR_PREFIX: options.prefix,
    RETRY_TIERS: '200ms,400ms',
    SHUTDOWN_GRACE: '3s',
    WEBHOOK_SECRETS: `${TEST_TENANT}:${TEST_WEBHOOK_SECRET}`,
    WEBHOOK_TIMEOUT: '1s',
    PUBLIC_BASE_URL: 'https://conveyor.test',
    LOG_LEVEL: 'warn',
    ...options.env,
  });
  await prepareNotificationDatabase(config.DATABASE_URL);
  const moduleRef = await Test.createTestingModule({
    imports: [NotificationServiceModule.register(config)],
  }).compile();
  const app = moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] });
  const transport = await startTransport(app);
  await app.init();
  await transport.waitUntilAttached();
  return { app, publisher: app.get(MessagePublisher), dataSource: app.get(DataSource) };
}

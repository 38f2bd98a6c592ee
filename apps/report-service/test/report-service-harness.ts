import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { ArtifactStore } from '#artifacts';
import { loadConfig } from '#config';
import { MessagePublisher, startTransport, type AmqpTransport } from '#messaging';
import { TEST_RABBITMQ_URL } from '#testing';
import { prepareReportDatabase } from '../src/report-database.js';
import { reportServiceConfigSchema } from '../src/report-service.config.js';
import { ReportServiceModule } from '../src/report-service.module.js';

export interface RunningReportService {
  readonly app: INestApplication;
  readonly transport: AmqpTransport;
  readonly publisher: MessagePublisher;
  readonly dataSource: DataSource;
  readonly artifacts: ArtifactStore;
}

/**
 * report-service as `main.ts` starts it (migrations, seed, the real module with its consumers), in this
 * process, against the given database and broker prefix. Close it with `app.close()`.
 */
export async function startReportService(options: {
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly seedRows: number;
}): Promise<RunningReportService> {
  const config = loadConfig(reportServiceConfigSchema, {
    DATABASE_URL: options.databaseUrl,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    CONVEYOR_PREFIX: options.prefix,
    ORDERS_SEED_ROWS: String(options.seedRows),
    RETRY_TIERS: '1s,2s',
    SHUTDOWN_GRACE: '3s',
    LOG_LEVEL: 'warn',
  });
  await prepareReportDatabase(config.DATABASE_URL, config.ORDERS_SEED_ROWS);
  const app = await NestFactory.create(ReportServiceModule.register(config), new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  const transport = await startTransport(app);
  await app.init();
  await transport.waitUntilAttached();
  return {
    app,
    transport,
    publisher: app.get(MessagePublisher),
    dataSource: app.get(DataSource),
    artifacts: app.get(ArtifactStore),
  };
}

import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { loadConfig } from '#config';
import { MessagePublisher, startTransport, type AmqpTransport } from '#messaging';
import { TEST_RABBITMQ_URL } from '#testing';
import { preparePaymentDatabase } from '../src/payment-database.js';
import { paymentServiceConfigSchema } from '../src/payment-service.config.js';
import { PaymentServiceModule } from '../src/payment-service.module.js';
import { PAYMENT_PROVIDER, type PaymentProvider } from '../src/provider/payment-provider.js';
import { SandboxPaymentProvider } from '../src/provider/sandbox.provider.js';

export interface RunningPaymentService {
  readonly app: INestApplication;
  readonly transport: AmqpTransport;
  readonly publisher: MessagePublisher;
  readonly dataSource: DataSource;
}

export interface PaymentServiceOptions {
  readonly databaseUrl: string;
  readonly prefix: string;
  /** e.g. `200ms`: makes duplicates of one job overlap. */
  readonly sandboxLatency?: string;
  /** Wraps the sandbox provider (fault injection stays in the tests, never in the service). */
  readonly wrapProvider?: (sandbox: PaymentProvider) => PaymentProvider;
  /** `LEASE_AFTER`, e.g. `2s`: how soon a delivery handed back as a lease comes again. */
  readonly leaseAfter?: string;
}

/** Short retry tiers, so `…03` and `…04` payments run their three attempts in well under a second. */
export const TEST_RETRY_TIERS = '200ms,400ms';

/**
 * payment-service as `main.ts` starts it (migrations, the real module with its consumer), in this
 * process, against the given database and broker prefix. Close it with `app.close()`.
 */
export async function startPaymentService(options: PaymentServiceOptions): Promise<RunningPaymentService> {
  const config = loadConfig(paymentServiceConfigSchema, {
    DATABASE_URL: options.databaseUrl,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    CONVEYOR_PREFIX: options.prefix,
    RETRY_TIERS: TEST_RETRY_TIERS,
    SHUTDOWN_GRACE: '3s',
    SANDBOX_LATENCY: options.sandboxLatency ?? '0ms',
    ...(options.leaseAfter === undefined ? {} : { LEASE_AFTER: options.leaseAfter }),
    LOG_LEVEL: 'warn',
  });
  await preparePaymentDatabase(config.DATABASE_URL);
  let builder = Test.createTestingModule({ imports: [PaymentServiceModule.register(config)] });
  const wrap = options.wrapProvider;
  if (wrap) {
    builder = builder.overrideProvider(PAYMENT_PROVIDER).useFactory({
      factory: (sandbox: SandboxPaymentProvider) => wrap(sandbox),
      inject: [SandboxPaymentProvider],
    });
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error', 'warn'] });
  const transport = await startTransport(app);
  await app.init();
  await transport.waitUntilAttached();
  return { app, transport, publisher: app.get(MessagePublisher), dataSource: app.get(DataSource) };
}

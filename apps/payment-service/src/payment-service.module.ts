import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { messagingOptionsFrom, messagingReadiness } from '#bootstrap';
import { databaseModule, pingDatabase } from '#database';
import { HealthModule } from '#health';
import { MetricsModule } from '#observability';
import { AmqpTransport, MessagePublisher, MessagingModule } from '#messaging';
import { paymentDatabaseOptions } from './payment-database.js';
import type { PaymentServiceConfig } from './payment-service.config.js';
import { ChargePaymentHandler } from './payments/charge-payment.handler.js';
import { PaymentsService } from './payments/payments.service.js';
import { PAYMENT_PROVIDER } from './provider/payment-provider.js';
import { SandboxPaymentProvider } from './provider/sandbox.provider.js';

export const SERVICE_NAME = 'payment-service';

@Module({})
export class PaymentServiceModule {
  static register(config: PaymentServiceConfig): DynamicModule {
    return {
      module: PaymentServiceModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        MetricsModule.forRoot(SERVICE_NAME),
        databaseModule(paymentDatabaseOptions(config.DATABASE_URL), config),
        HealthModule.forRoot({
          inject: [AmqpTransport, MessagePublisher, DataSource],
          readiness: (transport: AmqpTransport, publisher: MessagePublisher, dataSource: DataSource) => [
            ...messagingReadiness(transport, publisher),
            { name: 'postgres', check: () => pingDatabase(dataSource) },
          ],
        }),
      ],
      controllers: [ChargePaymentHandler],
      providers: [
        {
          provide: SandboxPaymentProvider,
          useFactory: () =>
            new SandboxPaymentProvider({
              databaseUrl: config.DATABASE_URL,
              latencyMs: config.SANDBOX_LATENCY,
            }),
        },
        { provide: PAYMENT_PROVIDER, useExisting: SandboxPaymentProvider },
        PaymentsService,
      ],
    };
  }
}

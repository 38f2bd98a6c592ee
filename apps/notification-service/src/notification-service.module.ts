import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { messagingOptionsFrom, messagingReadiness } from '#bootstrap';
import { databaseModule, pingDatabase } from '#database';
import { HealthModule } from '#health';
import { MetricsModule } from '#observability';
import { AmqpTransport, MessagePublisher, MessagingModule } from '#messaging';
import { CompletionNotifier, PUBLIC_BASE_URL } from './completion/completion-notifier.js';
import { CompletionHandler } from './completion/completion.handler.js';
import { DELIVERY_LOG_OPTIONS, DeliveryLog } from './deliveries/delivery-log.js';
import { Notifier } from './deliveries/notifier.js';
import { EmailSender } from './email/email.sender.js';
import { notificationDatabaseOptions } from './notification-database.js';
import type { NotificationServiceConfig } from './notification-service.config.js';
import { SendNotificationHandler } from './send/send-notification.handler.js';
import { WebhookSecrets } from './webhooks/webhook-secrets.js';
import { WebhookSender } from './webhooks/webhook.sender.js';

export const SERVICE_NAME = 'notification-service';

/** SMTP's own timeouts (email.sender.ts) are at most 30 s per step. */
const SMTP_WORST_CASE_MS = 60_000;

@Module({})
export class NotificationServiceModule {
  static register(config: NotificationServiceConfig): DynamicModule {
    return {
      module: NotificationServiceModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        MetricsModule.forRoot(SERVICE_NAME),
        databaseModule(notificationDatabaseOptions(config.DATABASE_URL), config),
        HealthModule.forRoot({
          inject: [AmqpTransport, MessagePublisher, DataSource],
          readiness: (transport: AmqpTransport, publisher: MessagePublisher, dataSource: DataSource) => [
            ...messagingReadiness(transport, publisher),
            { name: 'postgres', check: () => pingDatabase(dataSource) },
          ],
        }),
      ],
      controllers: [SendNotificationHandler, CompletionHandler],
      providers: [
        {
          provide: EmailSender,
          useFactory: () => new EmailSender({ url: config.SMTP_URL, from: config.SMTP_FROM }),
        },
        {
          provide: WebhookSender,
          useFactory: () =>
            new WebhookSender({ allowlist: config.webhookAllowlist, timeoutMs: config.WEBHOOK_TIMEOUT }),
        },
        { provide: WebhookSecrets, useFactory: () => new WebhookSecrets(config.webhookSecrets) },
        {
          provide: DELIVERY_LOG_OPTIONS,
          useValue: { claimMs: 2 * Math.max(config.WEBHOOK_TIMEOUT, SMTP_WORST_CASE_MS) + 30_000 },
        },
        { provide: PUBLIC_BASE_URL, useValue: config.PUBLIC_BASE_URL },
        DeliveryLog,
        Notifier,
        CompletionNotifier,
      ],
    };
  }
}

import { Module, type DynamicModule } from '@nestjs/common';
import { messagingOptionsFrom, messagingReadiness } from '#bootstrap';
import type { ServiceConfig } from '#config';
import { HealthModule } from '#health';
import { MetricsModule } from '#observability';
import { AmqpTransport, MessagePublisher, MessagingModule } from '#messaging';

export const SERVICE_NAME = 'notification-service';

@Module({})
export class NotificationServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: NotificationServiceModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        MetricsModule.forRoot(SERVICE_NAME),
        HealthModule.forRoot({
          inject: [AmqpTransport, MessagePublisher],
          readiness: (transport: AmqpTransport, publisher: MessagePublisher) =>
            messagingReadiness(transport, publisher),
        }),
      ],
    };
  }
}

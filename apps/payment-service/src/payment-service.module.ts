import { Module, type DynamicModule } from '@nestjs/common';
import { messagingOptionsFrom } from '#bootstrap';
import type { ServiceConfig } from '#config';
import { HealthModule } from '#health';
import { AmqpTransport, MessagingModule } from '#messaging';

export const SERVICE_NAME = 'payment-service';

@Module({})
export class PaymentServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: PaymentServiceModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        HealthModule.forRoot({
          inject: [AmqpTransport],
          readiness: (transport: AmqpTransport) => [
            {
              name: 'consumers',
              check: () => ({ up: transport.consumersAttached, detail: 'consumers not attached' }),
            },
          ],
        }),
      ],
    };
  }
}

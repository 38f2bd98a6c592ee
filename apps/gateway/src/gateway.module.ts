import { Module, type DynamicModule } from '@nestjs/common';
import { messagingOptionsFrom } from '#bootstrap';
import type { ServiceConfig } from '#config';
import { HealthModule } from '#health';
import { AmqpConnection, MessagingModule } from '#messaging';

export const SERVICE_NAME = 'gateway';

@Module({})
export class GatewayModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        HealthModule.forRoot({
          inject: [AmqpConnection],
          readiness: (connection: AmqpConnection) => [
            {
              name: 'broker',
              check: () => ({ up: connection.isConnected(), detail: 'RabbitMQ unreachable' }),
            },
          ],
        }),
      ],
    };
  }
}

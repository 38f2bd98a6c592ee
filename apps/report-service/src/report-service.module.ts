import { Module, type DynamicModule } from '@nestjs/common';
import { messagingOptionsFrom } from '#bootstrap';
import type { ServiceConfig } from '#config';
import { HealthModule } from '#health';
import { AmqpTransport, MessagingModule } from '#messaging';
import { RunEchoHandler } from './echo/run-echo.handler.js';

export const SERVICE_NAME = 'report-service';

@Module({})
export class ReportServiceModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: ReportServiceModule,
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
      controllers: [RunEchoHandler],
    };
  }
}

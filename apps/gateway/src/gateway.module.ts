import { Module, type DynamicModule } from '@nestjs/common';
import { messagingOptionsFrom, messagingReadiness } from '#bootstrap';
import { databaseModule, pingDatabase } from '#database';
import { HealthModule } from '#health';
import { MetricsModule } from '#observability';
import { AmqpTransport, MessagePublisher, MessagingModule } from '#messaging';
import { DataSource } from 'typeorm';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { EchoController } from './echo/echo.controller.js';
import type { GatewayConfig } from './gateway.config.js';
import { GATEWAY_CONFIG } from './gateway.tokens.js';
import { IdempotencyKeysJanitor } from './jobs/idempotency-keys.janitor.js';
import { JobRetention } from './jobs/job-retention.js';
import { JobEventsHandler } from './jobs/job-events.handler.js';
import { JobTransitions } from './jobs/job-transitions.js';
import { JobsController } from './jobs/jobs.controller.js';
import { JobsService } from './jobs/jobs.service.js';
import { InFlightLimit } from './limits/in-flight.js';
import { JobCancellation } from './jobs/job-cancellation.js';
import { JobChanges } from './events/job-changes.js';
import { JobStreams } from './events/job-streams.js';
import { AdminController } from './dead-letters/admin.controller.js';
import { DeadLetterArchive } from './dead-letters/dead-letter-archive.js';
import { DeadLetters } from './dead-letters/dead-letters.service.js';
import { QueueStatsReader } from './dead-letters/queue-stats.js';
import { NotificationsController } from './notifications/notifications.controller.js';
import { OutboxPublisher } from './outbox/outbox.publisher.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { PaymentsController } from './payments/payments.controller.js';
import { ReportDownloads } from './reports/report-downloads.js';
import { ReportsController } from './reports/reports.controller.js';
import { ScheduleDispatcher } from './schedules/schedule-dispatcher.js';
import { SchedulesController } from './schedules/schedules.controller.js';
import { SchedulesService } from './schedules/schedules.service.js';
import { ArtifactStore } from '#artifacts';
import { gatewayDatabase } from './gateway.database.js';

export const SERVICE_NAME = 'gateway';

@Module({})
export class GatewayModule {
  static register(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        MetricsModule.forRoot(SERVICE_NAME),
        databaseModule(gatewayDatabase(config), config),
        HealthModule.forRoot({
          inject: [DataSource, AmqpTransport, MessagePublisher],
          readiness: (db: DataSource, transport: AmqpTransport, publisher: MessagePublisher) => [
            { name: 'postgres', check: () => pingDatabase(db) },
            ...messagingReadiness(transport, publisher),
          ],
        }),
      ],
      controllers: [
        JobsController,
        ReportsController,
        EchoController,
        PaymentsController,
        AdminController,
        NotificationsController,
        DashboardController,
        SchedulesController,
        JobEventsHandler,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        ApiKeyGuard,
        JobsService,
        InFlightLimit,
        JobCancellation,
        JobChanges,
        JobStreams,
        DeadLetterArchive,
        DeadLetters,
        QueueStatsReader,
        JobTransitions,
        IdempotencyKeysJanitor,
        JobRetention,
        OutboxPublisher,
        OutboxRelay,
        ReportDownloads,
        SchedulesService,
        ScheduleDispatcher,
        {
          provide: ArtifactStore,
          inject: [DataSource],
          useFactory: (db: DataSource) => new ArtifactStore(db),
        },
      ],
    };
  }
}

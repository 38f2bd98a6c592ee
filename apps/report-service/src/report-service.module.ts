import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ArtifactStore } from '#artifacts';
import { messagingOptionsFrom, messagingReadiness } from '#bootstrap';
import { databaseModule, pingDatabase } from '#database';
import { HealthModule } from '#health';
import { MetricsModule } from '#observability';
import { AmqpTransport, MessagePublisher, MessagingModule } from '#messaging';
import { CPU_POOL_SIZE, CpuPool } from './cpu/cpu-pool.js';
import { RunEchoHandler } from './echo/run-echo.handler.js';
import { OrdersRepository } from './orders/orders.repository.js';
import { reportDatabaseOptions } from './report-database.js';
import type { ReportServiceConfig } from './report-service.config.js';
import { GenerateReportHandler } from './reports/generate-report.handler.js';
import { REPORT_SETTINGS, type ReportSettings } from './reports/report-settings.js';
import { ReportsService } from './reports/reports.service.js';
import { ArtifactJanitor } from './reports/artifact-janitor.js';

export const SERVICE_NAME = 'report-service';

@Module({})
export class ReportServiceModule {
  static register(config: ReportServiceConfig): DynamicModule {
    const settings: ReportSettings = {
      artifactRetentionMs: config.ARTIFACT_RETENTION,
      artifactSweepIntervalMs: config.ARTIFACT_SWEEP_INTERVAL,
      artifactDeleteGraceMs: config.ARTIFACT_DELETE_GRACE,
    };
    return {
      module: ReportServiceModule,
      imports: [
        MessagingModule.forRoot(messagingOptionsFrom(SERVICE_NAME, config)),
        MetricsModule.forRoot(SERVICE_NAME),
        databaseModule(reportDatabaseOptions(config.DATABASE_URL), config),
        HealthModule.forRoot({
          inject: [AmqpTransport, MessagePublisher, DataSource],
          readiness: (transport: AmqpTransport, publisher: MessagePublisher, dataSource: DataSource) => [
            ...messagingReadiness(transport, publisher),
            { name: 'postgres', check: () => pingDatabase(dataSource) },
          ],
        }),
      ],
      controllers: [RunEchoHandler, GenerateReportHandler],
      providers: [
        { provide: REPORT_SETTINGS, useValue: settings },
        {
          provide: ArtifactStore,
          inject: [DataSource],
          useFactory: (ds: DataSource) => new ArtifactStore(ds),
        },
        OrdersRepository,
        ReportsService,
        ArtifactJanitor,
        { provide: CPU_POOL_SIZE, useValue: CpuPool.defaultSize() },
        CpuPool,
      ],
    };
  }
}

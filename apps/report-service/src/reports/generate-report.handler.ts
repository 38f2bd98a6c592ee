import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { ReportCommands, type GenerateReport } from '#contracts';
import { EventPattern, type JobContext } from '#messaging';
import { ReportsService, type ReportResult } from './reports.service.js';

/** `report.generate`: renders a report into the artifact store; the result points at the artifact. */
@Controller()
export class GenerateReportHandler {
  constructor(@Inject(ReportsService) private readonly reports: ReportsService) {}

  @EventPattern(ReportCommands.generate, { retry: { maxAttempts: 5 }, prefetch: 2 })
  async generate(@Payload() cmd: GenerateReport, @Ctx() job: JobContext): Promise<ReportResult> {
    return await this.reports.generate(cmd, job);
  }
}

import {
  Body,
  Controller,
  Get,
  Inject,
  Param,
  ParseUUIDPipe,
  Res,
  StreamableFile,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { GenerateReport } from '#contracts';
import { ApiKeyGuard, RequireScope } from '../auth/api-key.guard.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import type { JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import {
  SubmitCallerOf,
  SubmitJob,
  submitJob,
  submittable,
  type SubmitCaller,
  type SubmittedBody,
} from '../jobs/submit-job.js';
import { ReportDownloads } from './report-downloads.js';

const GenerateReportBody = submittable(GenerateReport);

@ApiTags('reports')
@Controller('v1/reports')
export class ReportsController {
  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(ReportDownloads) private readonly downloads: ReportDownloads,
  ) {}

  @SubmitJob('Export the orders dataset as CSV (or PDF)', GenerateReportBody)
  async submit(
    @Body(new ZodPipe(GenerateReportBody)) body: SubmittedBody,
    @SubmitCallerOf() caller: SubmitCaller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    return submitJob(this.jobs, caller, { route: 'reports', kind: 'report', body, reply });
  }

  @Get(':id/download')
  @UseGuards(ApiKeyGuard)
  @RequireScope('jobs:read')
  @ApiBearerAuth()
  @ApiProduces('text/csv', 'application/pdf')
  @ApiOperation({
    summary: "A succeeded report's file, streamed (409 not ready, failed or cancelled; 410 expired)",
  })
  async download(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<StreamableFile> {
    const { artifact, stream } = await this.downloads.open(principal, id);
    return new StreamableFile(stream, {
      type: artifact.contentType,
      length: artifact.bytes,
      disposition: `attachment; filename="${artifact.filename.replace(/["\\\r\n]/g, '_')}"`,
    });
  }
}

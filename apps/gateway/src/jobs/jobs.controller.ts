import {
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  UseGuards,
  Headers,
  BadRequestException,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiProduces } from '@nestjs/swagger';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { JOB_KINDS, JOB_STATUSES } from '#contracts';
import { ApiKeyGuard, RequireScope } from '../auth/api-key.guard.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import { toJobView, type JobView } from './job.view.js';
import { JobsService } from './jobs.service.js';
import { PAGE_QUERY } from './job-cursor.js';
import { JobCancellation } from './job-cancellation.js';
import { JobStreams } from '../events/job-streams.js';

const ListJobsQuery = z.strictObject({
  kind: z.enum(JOB_KINDS).optional(),
  status: z.enum(JOB_STATUSES).optional(),
  ...PAGE_QUERY,
});

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobsController {
  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(JobCancellation) private readonly cancellation: JobCancellation,
    @Inject(JobStreams) private readonly streams: JobStreams,
  ) {}

  @Get(':id/events')
  @RequireScope('jobs:read')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-sent events: the current state, then every status and progress change, until a terminal status',
  })
  async events(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    let resumeAfter: number | undefined;
    if (lastEventId !== undefined && lastEventId !== '') {
      if (!/^\d{1,15}$/.test(lastEventId)) {
        throw new BadRequestException(['Last-Event-ID: must be an event id this stream sent']);
      }
      resumeAfter = Number(lastEventId);
    }
    // 404 for a job that is not the caller's, while the reply is still Nest's to send.
    await this.jobs.get(principal, id);
    await this.streams.stream(principal, id, resumeAfter, reply.hijack().raw);
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScope('jobs:write')
  @ApiOperation({
    summary: 'Cancel a job: at once if it waits, within a second if it runs (409 once it has ended)',
  })
  async cancel(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    return toJobView(await this.cancellation.cancel(principal, id));
  }

  @Get(':id')
  @RequireScope('jobs:read')
  @ApiOperation({ summary: 'A job: status, progress, attempts, result or error' })
  async get(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    return toJobView(await this.jobs.get(principal, id));
  }

  @Get()
  @RequireScope('jobs:read')
  @ApiOperation({ summary: 'Jobs, newest first, with cursor pagination' })
  async list(
    @Query(new ZodPipe(ListJobsQuery, 'query')) query: z.output<typeof ListJobsQuery>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ items: JobView[]; nextCursor: string | null }> {
    const page = await this.jobs.list(principal, query);
    return { items: page.items.map(toJobView), nextCursor: page.nextCursor };
  }
}

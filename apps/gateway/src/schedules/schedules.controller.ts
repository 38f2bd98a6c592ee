import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiKeyGuard, RequireScope } from '../auth/api-key.guard.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import { PAGE_QUERY } from '../jobs/job-cursor.js';
import { CreateScheduleBody } from './schedule-request.js';
import { toScheduleView, type ScheduleView } from './schedule.view.js';
import { SchedulesService } from './schedules.service.js';

const ListSchedulesQuery = z.strictObject({
  ...PAGE_QUERY,
});

@ApiTags('schedules')
@ApiBearerAuth()
@Controller('v1/schedules')
@UseGuards(ApiKeyGuard)
export class SchedulesController {
  constructor(@Inject(SchedulesService) private readonly schedules: SchedulesService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequireScope('jobs:write')
  @ApiOperation({
    summary:
      'Run a job on a cron schedule: one job per due time across all replicas; after downtime, one catch-up job',
  })
  @ApiBody({
    schema: z.toJSONSchema(CreateScheduleBody, { target: 'openapi-3.0', io: 'input' }) as Record<
      string,
      unknown
    >,
  })
  @ApiCreatedResponse({ description: 'The schedule, with its first due time' })
  async create(
    @Body(new ZodPipe(CreateScheduleBody)) body: CreateScheduleBody,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ScheduleView> {
    return toScheduleView(await this.schedules.create(principal, body));
  }

  @Get()
  @RequireScope('jobs:read')
  @ApiOperation({ summary: 'Schedules, newest first, with cursor pagination' })
  async list(
    @Query(new ZodPipe(ListSchedulesQuery, 'query')) query: z.output<typeof ListSchedulesQuery>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ items: ScheduleView[]; nextCursor: string | null }> {
    const page = await this.schedules.list(principal, query);
    return { items: page.items.map(toScheduleView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @RequireScope('jobs:read')
  @ApiOperation({ summary: 'A schedule and its next due time' })
  async get(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ScheduleView> {
    return toScheduleView(await this.schedules.get(principal, id));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireScope('jobs:write')
  @ApiOperation({ summary: 'Stop a schedule (the jobs it made are kept)' })
  async remove(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.schedules.remove(principal, id);
  }
}

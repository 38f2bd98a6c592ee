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
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiKeyGuard, RequireScope } from '../auth/api-key.guard.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import { toJobView, type JobView } from '../jobs/job.view.js';
import { BulkReplay, DeadLetterQuery, DeadLetters, type DeadLetterView } from './dead-letters.service.js';
import { QueueStatsReader, type QueueStats } from './queue-stats.js';

const ReplayBody = z.strictObject({ payload: z.record(z.string(), z.unknown()).optional() }).optional();

/** Dead letters and queues (API.md, "Administration"); every route needs the `admin` scope. */
@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin')
@UseGuards(ApiKeyGuard)
@RequireScope('admin')
export class AdminController {
  constructor(
    @Inject(DeadLetters) private readonly deadLetters: DeadLetters,
    @Inject(QueueStatsReader) private readonly queueStats: QueueStatsReader,
  ) {}

  @Get('dead-letters')
  @ApiOperation({ summary: 'Archived dead letters, newest first' })
  list(
    @Query(new ZodPipe(DeadLetterQuery, 'query')) query: DeadLetterQuery,
  ): Promise<{ items: DeadLetterView[]; nextCursor: string | null }> {
    return this.deadLetters.list(query);
  }

  @Get('dead-letters/:id')
  @ApiOperation({ summary: 'One archived dead letter, with its headers' })
  get(@Param('id', new ParseUUIDPipe({ version: undefined })) id: string): Promise<DeadLetterView> {
    return this.deadLetters.get(id);
  }

  @Post('dead-letters/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Replay every pending dead letter matching the filter, paced by REPLAY_RATE' })
  async replayMatching(
    @Body(
      new ZodPipe(
        BulkReplay.optional().transform((b) => b ?? {}),
        'optional body',
      ),
    )
    filter: BulkReplay,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ replayed: number }> {
    return { replayed: await this.deadLetters.replayMatching(principal, filter) };
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Replay one dead letter, optionally with an edited payload' })
  async replay(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @Body(new ZodPipe(ReplayBody, 'optional body')) body: z.output<typeof ReplayBody>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    return toJobView(await this.deadLetters.replay(principal, id, body?.payload));
  }

  @Delete('dead-letters/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Discard a dead letter (its job stays failed)' })
  async discard(
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.deadLetters.discard(principal, id);
  }

  @Get('queues')
  @ApiOperation({ summary: 'Depth and consumers of every work, wait and dead-letter queue' })
  queues(): Promise<QueueStats[]> {
    return this.queueStats.all();
  }
}

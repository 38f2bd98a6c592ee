import { Body, Controller, Headers, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiTags } from '@nestjs/swagger';
import { RunEcho } from '#contracts';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import type { JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import { SubmitJob, submitJob } from '../jobs/submit-job.js';

/** Diagnostic jobs run by the report workers: retries, dead letters and CPU load on demand. */
@ApiTags('echo')
@Controller('v1/echo')
export class EchoController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Submit a diagnostic echo job', RunEcho)
  async submit(
    @Body(new ZodPipe(RunEcho)) body: RunEcho,
    @Body() rawBody: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    const submission = { kind: 'echo', command: body, input: body } as const;
    return submitJob(this.jobs, { principal, route: 'echo', idempotencyKey, rawBody, submission, reply });
  }
}

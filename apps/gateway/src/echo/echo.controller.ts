import { Body, Controller, Headers, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiTags } from '@nestjs/swagger';
import { RunEcho } from '#contracts';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import type { JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import { SubmitJob, submitJob, submittable, type SubmittedBody } from '../jobs/submit-job.js';

/** Diagnostic jobs run by the report workers: retries, dead letters and CPU load on demand. */
const RunEchoBody = submittable(RunEcho);

@ApiTags('echo')
@Controller('v1/echo')
export class EchoController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Submit a diagnostic echo job', RunEchoBody)
  async submit(
    @Body(new ZodPipe(RunEchoBody)) body: SubmittedBody,
    @Body() rawBody: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    return submitJob(this.jobs, {
      principal,
      route: 'echo',
      idempotencyKey,
      rawBody,
      kind: 'echo',
      body,
      reply,
    });
  }
}

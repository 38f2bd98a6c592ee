import { Body, Controller, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiTags } from '@nestjs/swagger';
import { RunEcho } from '#contracts';
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

const RunEchoBody = submittable(RunEcho);

/** Diagnostic jobs run by the report workers: retries, dead letters and CPU load on demand. */
@ApiTags('echo')
@Controller('v1/echo')
export class EchoController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Submit a diagnostic echo job', RunEchoBody)
  async submit(
    @Body(new ZodPipe(RunEchoBody)) body: SubmittedBody,
    @SubmitCallerOf() caller: SubmitCaller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    return submitJob(this.jobs, caller, { route: 'echo', kind: 'echo', body, reply });
  }
}

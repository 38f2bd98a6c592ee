import { Body, Controller, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RunEcho } from '#contracts';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import { toJobView, type JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import { SubmitJob } from '../jobs/submit-job.js';

/** Diagnostic jobs run by the report workers: retries, dead letters and CPU load on demand. */
@ApiTags('echo')
@Controller('v1/echo')
export class EchoController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Submit a diagnostic echo job', RunEcho)
  async submit(
    @Body(new ZodPipe(RunEcho)) body: RunEcho,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    return toJobView(await this.jobs.submit(principal, { kind: 'echo', command: body, input: body }));
  }
}

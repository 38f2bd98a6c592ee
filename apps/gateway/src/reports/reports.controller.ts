import { Body, Controller, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { GenerateReport } from '#contracts';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import { toJobView, type JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import { SubmitJob } from '../jobs/submit-job.js';

@ApiTags('reports')
@Controller('v1/reports')
export class ReportsController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Export the orders dataset as CSV (or PDF)', GenerateReport)
  async submit(
    @Body(new ZodPipe(GenerateReport)) body: GenerateReport,
    @CurrentPrincipal() principal: Principal,
  ): Promise<JobView> {
    return toJobView(await this.jobs.submit(principal, { kind: 'report', command: body, input: body }));
  }
}

import { Body, Controller, Headers, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ChargePayment } from '#contracts';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodPipe } from '../http/zod.pipe.js';
import type { JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import { SubmitJob, submitJob } from '../jobs/submit-job.js';

/** Charges: an Idempotency-Key is required, so a client retrying a timed-out request never pays twice. */
@ApiTags('payments')
@Controller('v1/payments')
export class PaymentsController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Charge a customer through the payment provider', ChargePayment, { keyRequired: true })
  async submit(
    @Body(new ZodPipe(ChargePayment)) body: ChargePayment,
    @Body() rawBody: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    const submission = { kind: 'payment', command: body, input: body } as const;
    return submitJob(this.jobs, {
      principal,
      route: 'payments',
      idempotencyKey,
      keyRequired: true,
      rawBody,
      submission,
      reply,
    });
  }
}

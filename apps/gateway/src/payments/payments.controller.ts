import { Body, Controller, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ChargePayment } from '#contracts';
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

/** Charges: an Idempotency-Key is required, so a client retrying a timed-out request never pays twice. */
const ChargePaymentBody = submittable(ChargePayment);

@ApiTags('payments')
@Controller('v1/payments')
export class PaymentsController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Charge a customer through the payment provider', ChargePaymentBody, { keyRequired: true })
  async submit(
    @Body(new ZodPipe(ChargePaymentBody)) body: SubmittedBody,
    @SubmitCallerOf() caller: SubmitCaller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    return submitJob(this.jobs, caller, {
      route: 'payments',
      keyRequired: true,
      kind: 'payment',
      body,
      reply,
    });
  }
}

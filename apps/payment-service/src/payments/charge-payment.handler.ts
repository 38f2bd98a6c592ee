import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { JobKinds, PaymentCommands, type ChargePayment } from '#contracts';
import { EventPattern, type JobContext } from '#messaging';
import type { PaymentResult } from './payment-outcome.js';
import { PaymentsService } from './payments.service.js';

/** `payment.charge`: charges the customer once per job; the result names the payment. */
@Controller()
export class ChargePaymentHandler {
  constructor(@Inject(PaymentsService) private readonly payments: PaymentsService) {}

  @EventPattern(PaymentCommands.charge, {
    retry: { maxAttempts: JobKinds.payment.maxAttempts },
    prefetch: 10,
  })
  async charge(@Payload() cmd: ChargePayment, @Ctx() job: JobContext): Promise<PaymentResult> {
    return this.payments.chargeOnce(job, cmd);
  }
}

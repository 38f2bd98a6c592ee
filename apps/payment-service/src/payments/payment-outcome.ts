import type { JobError, Notify, PaymentOutcome as PaymentEvent } from '#contracts';
import { CardDeclinedError } from '../provider/payment-provider.js';

/** A payment job's result (API.md, "Payments"). */
export interface PaymentResult {
  readonly paymentId: string;
  readonly status: 'captured';
  readonly amount: number;
  readonly currency: string;
}

interface OutcomeBase {
  readonly paymentId: string;
  readonly idempotencyKey: string;
  readonly amount: number;
  readonly currency: string;
  readonly customerId: string;
}

/** How a payment job ended, as the inbox stores it: enough to answer every later delivery the same way. */
export type PaymentOutcome =
  | (OutcomeBase & { readonly status: 'captured'; readonly chargeId: string })
  | (OutcomeBase & { readonly status: 'declined'; readonly error: JobError });

/** The provider's idempotency key for a payment: stable across every delivery of its job. */
export function idempotencyKeyOf(paymentId: string): string {
  return `pay_${paymentId}`;
}

/** The job's result for a captured payment; the decline, thrown, for a declined one. */
export function settleJob(outcome: PaymentOutcome): PaymentResult {
  switch (outcome.status) {
    case 'captured':
      return {
        paymentId: outcome.paymentId,
        status: 'captured',
        amount: outcome.amount,
        currency: outcome.currency,
      };
    case 'declined':
      throw new CardDeclinedError(outcome.idempotencyKey, outcome.error.message);
  }
}

/**
 * The `payment.succeeded` / `payment.failed` payload for an outcome, with the job's `notify` so the
 * notification service can tell the submitter (no card details: the event never carries any).
 */
export function paymentEventOf(
  jobId: string,
  tenant: string,
  outcome: PaymentOutcome,
  notify?: Notify,
): PaymentEvent {
  const event: PaymentEvent = {
    jobId,
    tenant,
    paymentId: outcome.paymentId,
    amount: outcome.amount,
    currency: outcome.currency,
    customerId: outcome.customerId,
    ...(notify === undefined ? {} : { notify }),
  };
  return outcome.status === 'declined' ? { ...event, error: outcome.error } : event;
}

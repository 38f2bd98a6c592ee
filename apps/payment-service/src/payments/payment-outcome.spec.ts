import { describe, expect, it } from '@jest/globals';
import { CardDeclinedError } from '../provider/payment-provider.js';
import { idempotencyKeyOf, paymentEventOf, settleJob, type PaymentOutcome } from './payment-outcome.js';

const base = {
  paymentId: '0b9f7c1e-0000-4000-8000-000000000001',
  idempotencyKey: idempotencyKeyOf('0b9f7c1e-0000-4000-8000-000000000001'),
  amount: 1999,
  currency: 'EUR',
  customerId: 'cus_42',
};
const captured: PaymentOutcome = { ...base, status: 'captured', chargeId: 'ch_1' };
const declined: PaymentOutcome = {
  ...base,
  status: 'declined',
  error: { code: 'card_declined', message: 'The card was declined' },
};
const jobId = '0b9f7c1e-0000-4000-8000-0000000000aa';

describe(settleJob.name, () => {
  it('answers a captured payment with the API result', () => {
    expect(settleJob(captured)).toEqual({
      paymentId: base.paymentId,
      status: 'captured',
      amount: 1999,
      currency: 'EUR',
    });
  });

  it('throws the decline again for a declined payment', () => {
    expect(() => settleJob(declined)).toThrow(CardDeclinedError);
    expect(() => settleJob(declined)).toThrow(
      expect.objectContaining({ code: 'card_declined', idempotencyKey: base.idempotencyKey }),
    );
  });
});

describe(paymentEventOf.name, () => {
  it('carries the amount, currency and customer, and the error only for a decline', () => {
    expect(paymentEventOf(jobId, 'acme', captured)).toEqual({
      jobId,
      tenant: 'acme',
      paymentId: base.paymentId,
      amount: 1999,
      currency: 'EUR',
      customerId: 'cus_42',
    });
    expect(paymentEventOf(jobId, 'acme', declined)).toMatchObject({
      customerId: 'cus_42',
      error: { code: 'card_declined' },
    });
  });

  it("carries the job's notify when it had one, so the submitter can be told", () => {
    const notify = { email: 'ops@example.com' };
    expect(paymentEventOf(jobId, 'acme', captured, notify)).toMatchObject({ notify });
    expect(paymentEventOf(jobId, 'acme', captured)).not.toHaveProperty('notify');
  });
});

describe(idempotencyKeyOf.name, () => {
  it('derives the key from the payment id', () => {
    expect(idempotencyKeyOf('abc')).toBe('pay_abc');
  });
});

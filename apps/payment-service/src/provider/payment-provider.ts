import { PermanentError, RetryableError } from '#messaging';

export interface ChargeRequest {
  /** The same key always means the same charge: the provider charges it at most once. */
  readonly idempotencyKey: string;
  /** Integer minor units. */
  readonly amount: number;
  readonly currency: string;
  readonly customerId: string;
  readonly description?: string;
}

export interface CapturedCharge {
  readonly chargeId: string;
  readonly status: 'captured';
}

export interface DeclinedCharge {
  readonly status: 'declined';
  readonly message: string;
}

/** What the provider has on record for an idempotency key. */
export type RecordedCharge = CapturedCharge | DeclinedCharge;

/** The external payment provider, as payment-service sees it. */
export interface PaymentProvider {
  /** Captures the charge or throws ({@link CardDeclinedError}, {@link ProviderUnavailableError}, ...). */
  charge(request: ChargeRequest): Promise<CapturedCharge>;
  /** The outcome the provider recorded for `idempotencyKey`, if it decided one. */
  findCharge(idempotencyKey: string): Promise<RecordedCharge | undefined>;
}

export const PAYMENT_PROVIDER = Symbol('PAYMENT_PROVIDER');

export class CardDeclinedError extends PermanentError {
  constructor(
    readonly idempotencyKey: string,
    message = 'The card was declined',
  ) {
    super(message, 'card_declined');
  }
}

export class ProviderUnavailableError extends RetryableError {
  constructor(readonly idempotencyKey: string) {
    super('The payment provider is unavailable', 'provider_unavailable');
  }
}

/** The provider already holds this key for a different charge: a bug or a tampered message, never retried. */
export class IdempotencyKeyReusedError extends PermanentError {
  constructor(readonly idempotencyKey: string) {
    super(`Idempotency key ${idempotencyKey} was used for a different charge`, 'idempotency_key_reused');
  }
}

import { PermanentError } from './errors.js';

export type RetryDecision =
  | { readonly action: 'retry'; readonly nextAttempt: number; readonly delayMs: number }
  | { readonly action: 'dead-letter'; readonly reason: 'permanent' | 'exhausted' };

/**
 * How a handler's failure is treated: permanent errors dead-letter at once; others retry through the fixed
 * delay tiers (the n-th failure waits `tiers[n-1]`, the last tier repeating) until `maxAttempts` have run.
 */
export class RetryPolicy {
  constructor(
    readonly maxAttempts: number,
    readonly tiers: readonly number[],
  ) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
    }
    if (tiers.length === 0 || tiers.some((t) => !Number.isInteger(t) || t <= 0)) {
      throw new RangeError('retry tiers must be a non-empty list of positive millisecond delays');
    }
  }

  /** `attempt` is the 1-based attempt that just failed. */
  decide(error: unknown, attempt: number): RetryDecision {
    if (error instanceof PermanentError) return { action: 'dead-letter', reason: 'permanent' };
    if (attempt >= this.maxAttempts) return { action: 'dead-letter', reason: 'exhausted' };
    return { action: 'retry', nextAttempt: attempt + 1, delayMs: this.delayAfter(attempt) };
  }

  delayAfter(attempt: number): number {
    const index = Math.min(Math.max(attempt, 1), this.tiers.length) - 1;
    return this.tiers[index] as number;
  }
}

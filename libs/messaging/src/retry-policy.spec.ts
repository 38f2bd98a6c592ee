import { describe, expect, it } from '@jest/globals';
import { InvalidMessageError, PermanentError, RetryableError } from './errors.js';
import { RetryPolicy } from './retry-policy.js';

describe(RetryPolicy.name, () => {
  const tiers = [1000, 5000, 30_000, 120_000, 600_000];

  it('retries a transient failure with the next attempt and the tier of the failed one', () => {
    const sut = new RetryPolicy(5, tiers);
    expect(sut.decide(new Error('boom'), 1)).toEqual({ action: 'retry', nextAttempt: 2, delayMs: 1000 });
    expect(sut.decide(new RetryableError('busy'), 2)).toEqual({
      action: 'retry',
      nextAttempt: 3,
      delayMs: 5000,
    });
    expect(sut.decide('a thrown string', 4)).toEqual({ action: 'retry', nextAttempt: 5, delayMs: 120_000 });
  });

  it('keeps using the last tier when attempts outnumber tiers', () => {
    const sut = new RetryPolicy(8, [1000, 5000]);
    expect(sut.decide(new Error('x'), 2)).toMatchObject({ delayMs: 5000 });
    expect(sut.decide(new Error('x'), 7)).toMatchObject({ action: 'retry', nextAttempt: 8, delayMs: 5000 });
  });

  it('dead-letters once the failed attempt was the last allowed', () => {
    const sut = new RetryPolicy(3, tiers);
    expect(sut.decide(new Error('x'), 3)).toEqual({ action: 'dead-letter', reason: 'exhausted' });
    expect(sut.decide(new Error('x'), 9)).toEqual({ action: 'dead-letter', reason: 'exhausted' });
  });

  it('dead-letters a permanent error on any attempt, subclasses included', () => {
    const sut = new RetryPolicy(5, tiers);
    expect(sut.decide(new PermanentError('declined', 'card_declined'), 1)).toEqual({
      action: 'dead-letter',
      reason: 'permanent',
    });
    expect(sut.decide(new InvalidMessageError('bad', 'invalid_payload'), 1)).toMatchObject({
      reason: 'permanent',
    });
  });

  it('with one attempt allowed never retries', () => {
    expect(new RetryPolicy(1, tiers).decide(new Error('x'), 1)).toEqual({
      action: 'dead-letter',
      reason: 'exhausted',
    });
  });

  it('rejects a policy that cannot work', () => {
    expect(() => new RetryPolicy(0, tiers)).toThrow(RangeError);
    expect(() => new RetryPolicy(2.5, tiers)).toThrow(RangeError);
    expect(() => new RetryPolicy(3, [])).toThrow(RangeError);
    expect(() => new RetryPolicy(3, [1000, -1])).toThrow(RangeError);
  });
});

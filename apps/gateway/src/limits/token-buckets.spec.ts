import { describe, expect, it } from '@jest/globals';
import { TokenBuckets } from './token-buckets.js';

describe(TokenBuckets.name, () => {
  it('lets a burst through up to its size and refuses the excess only', () => {
    const buckets = new TokenBuckets(10, 5, () => 0);
    const results = Array.from({ length: 8 }, () => buckets.take('a').ok);
    expect(results).toEqual([true, true, true, true, true, false, false, false]);
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('refills at its rate, never above the burst', () => {
    let now = 0;
    const buckets = new TokenBuckets(10, 5, () => now);
    for (let i = 0; i < 5; i++) buckets.take('a');
    now = 200; // two tokens back
    expect([buckets.take('a').ok, buckets.take('a').ok, buckets.take('a').ok]).toEqual([true, true, false]);
    now = 60_000; // long idle: full again, but only 5
    expect(Array.from({ length: 6 }, () => buckets.take('a').ok).filter(Boolean)).toHaveLength(5);
  });

  it('keeps keys apart: one key drained, another untouched', () => {
    let now = 0;
    const buckets = new TokenBuckets(1, 2, () => now);
    buckets.take('a');
    buckets.take('a');
    expect(buckets.take('a').ok).toBe(false);
    expect(buckets.take('b').ok).toBe(true);
    now = 100;
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('says how long to wait at a slow rate', () => {
    const buckets = new TokenBuckets(0.1, 1, () => 0);
    buckets.take('a');
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 10 });
  });
});

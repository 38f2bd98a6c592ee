import { describe, expect, it } from '@jest/globals';
import { sandboxDecision } from './sandbox-rules.js';

describe(sandboxDecision.name, () => {
  it('declines amounts ending in 02, on every call', () => {
    for (const amount of [2, 102, 1902, 99_999_902]) {
      expect([1, 2, 3, 4].map((call) => sandboxDecision(amount, call))).toEqual(Array(4).fill('decline'));
    }
  });

  it('fails amounts ending in 03 on the first two calls, then captures', () => {
    expect([1, 2, 3, 4].map((call) => sandboxDecision(1003, call))).toEqual([
      'unavailable',
      'unavailable',
      'capture',
      'capture',
    ]);
  });

  it('always fails amounts ending in 04', () => {
    expect([1, 2, 3, 10].map((call) => sandboxDecision(504, call))).toEqual(Array(4).fill('unavailable'));
  });

  it.each([1, 100, 1999, 1001, 1005, 12_345, 100_000_000])('captures %i', (amount) => {
    expect(sandboxDecision(amount, 1)).toBe('capture');
  });
});

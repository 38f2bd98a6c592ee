import { describe, expect, it } from '@jest/globals';
import { traceIdOf, traceparentFrom } from './trace-context.js';

describe(traceparentFrom.name, () => {
  it('keeps a valid caller traceparent and replaces anything else with a fresh one', () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(traceparentFrom(given)).toBe(given);
    expect(traceIdOf(traceparentFrom(given))).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const bad of [
      undefined,
      '',
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      42,
    ]) {
      const fresh = traceparentFrom(bad);
      expect(fresh).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(fresh).not.toBe(bad);
    }
    expect(traceIdOf(undefined)).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import type { GatewayConfig } from '../gateway.config.js';
import { InFlightLimit } from './in-flight.js';

/** A database whose in-flight count answers when the test says, with what the test says. */
function slowCounts() {
  let answer: (rows: { tenant: string; n: string }[]) => void = () => undefined;
  const db = {
    query: () =>
      new Promise<{ tenant: string; n: string }[]>((resolve) => {
        answer = resolve;
      }),
  } as unknown as DataSource;
  return {
    db,
    answer: (rows: { tenant: string; n: string }[]) => {
      answer(rows);
    },
  };
}

describe(InFlightLimit.name, () => {
  it('holds a tenant at its cap while a count is under way, and after it', async () => {
    const { db, answer } = slowCounts();
    const limit = new InFlightLimit(db, { MAX_IN_FLIGHT_PER_TENANT: 3 } as GatewayConfig);
    const refresh = () => (limit as unknown as { refresh(): Promise<void> }).refresh();
    for (let i = 0; i < 3; i++) expect(limit.tryAdmit('acme')).toBe(true);
    expect(limit.tryAdmit('acme')).toBe(false);

    const counting = refresh();
    // Before: the count under way had dropped what was accepted, and acme was let through again here.
    expect(limit.tryAdmit('acme')).toBe(false);
    answer([{ tenant: 'acme', n: '3' }]);
    await counting;
    expect(limit.tryAdmit('acme')).toBe(false);

    // Two of them finished: the next count makes room for two.
    const next = refresh();
    answer([{ tenant: 'acme', n: '1' }]);
    await next;
    expect([limit.tryAdmit('acme'), limit.tryAdmit('acme'), limit.tryAdmit('acme')]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

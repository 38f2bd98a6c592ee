import { afterAll, describe, expect, it } from '@jest/globals';
import type { Piscina } from 'piscina';
import { CpuPool } from './cpu-pool.js';

describe(CpuPool.name, () => {
  const cpu = new CpuPool(1);

  afterAll(async () => {
    await cpu.onApplicationShutdown();
  });

  it('listens for its threads’ errors once, however many tasks it runs', async () => {
    for (let i = 0; i < 12; i++) await cpu.burn(1, new AbortController().signal);
    const pool = (cpu as unknown as { pool: Piscina }).pool;
    // Before: one more 'error' listener per task, for as long as the service ran.
    expect(pool.listenerCount('error')).toBe(1);
  });
});

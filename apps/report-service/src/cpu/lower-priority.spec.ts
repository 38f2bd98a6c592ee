import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from '@jest/globals';
import { CpuPool } from './cpu-pool.js';

/** Niceness of each thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function threadNiceness(): Map<number, number> {
  const result = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result.set(Number(tid), Number(fields[16]));
  }
  return result;
}

describe('the CPU pool’s threads', () => {
  const pool = new CpuPool(1);

  afterAll(async () => {
    await pool.onApplicationShutdown();
  });

  it('run at a lower priority than the event loop', async () => {
    const before = [...threadNiceness().values()].filter((nice) => nice === 10).length;
    await pool.burn(20, new AbortController().signal);
    const niceness = threadNiceness();
    expect([...niceness.values()].filter((nice) => nice === 10).length).toBe(before + 1);
    // The main thread (tid = pid) is untouched.
    expect(niceness.get(process.pid)).toBe(0);
  });
});

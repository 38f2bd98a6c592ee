/** What the bench scripts share: the machine-speed calibration, percentiles, CPU time read from /proc. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { HttpConnection } from './http-connection.js';

/**
 * A fixed piece of CPU work (300,000 SHA-256 digests and a counting loop), timed: this machine is a
 * shared VM whose speed drifts by 20 % between runs (seen here: 322 ms, then 385 ms an hour later; on
 * 2026-11-21 late, 501–1,038 ms from one run to the next), so figures from two runs compare only next to this.
 */
export function calibrate(): number {
  const started = performance.now();
  for (let i = 0; i < 300_000; i++) createHash('sha256').update(`x${i}`).digest('hex');
  let sum = 0;
  for (let i = 0; i < 3e7; i++) sum += i % 7;
  if (sum < 0) throw new Error('unreachable');
  return performance.now() - started;
}

/** The p-th percentile of values sorted ascending (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** CPU seconds [user, system] a process has used so far ([0, 0] once it is gone). */
export function cpuSecondsOf(pid: number): [number, number] {
  const ticks = 100; // USER_HZ on Linux
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[11]) / ticks, Number(fields[12]) / ticks];
  } catch {
    return [0, 0];
  }
}

/** One request on a connection; resolves with its latency in ms. */
export type Submit = (connection: HttpConnection) => Promise<number>;

/** Closed loop: each client submits its next request as soon as its last one is answered. Latencies in ms. */
export async function submitAll(
  connections: readonly HttpConnection[],
  count: number,
  submit: Submit,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    connections.map(async (connection) => {
      while (next < count) {
        next++;
        latencies.push(await submit(connection));
      }
    }),
  );
  return latencies;
}

/** What the bench scripts share: the machine-speed calibration, percentiles, CPU time from /proc, closed and open loops. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Each submit's latency (ms), with when it started (or fell due), in ms since the first one. */
export interface Latencies {
  readonly ms: number[];
  readonly at: number[];
}

/** Closed loop: each client submits its next request as soon as its last one is answered. */
export async function submitAll(
  connections: readonly HttpConnection[],
  count: number,
  submit: Submit,
): Promise<Latencies> {
  const latencies: Latencies = { ms: [], at: [] };
  const start = performance.now();
  let next = 0;
  await Promise.all(
    connections.map(async (connection) => {
      while (next < count) {
        next++;
        const at = performance.now() - start;
        latencies.ms.push(await submit(connection));
        latencies.at.push(at);
      }
    }),
  );
  return latencies;
}

/**
 * The p99 of the submits that started in each second of the run, as "p99 (count)" per second: a tail made
 * by the first second's start-up reads differently from one spread over the whole run.
 */
export function p99BySecond({ ms, at }: Latencies): string {
  const seconds: number[][] = [];
  at.forEach((t, i) => (seconds[Math.floor(t / 1000)] ??= []).push(ms[i] ?? 0));
  return seconds
    .map((values) => values.sort((a, b) => a - b))
    .map((values) => `${percentile(values, 99).toFixed(1)} (${values.length})`)
    .join(', ');
}

/**
 * Open loop: job i is due `i / rate` seconds after the first, answered or not; it waits for a free
 * connection when all are busy, and its latency counts from when it was due, so a stall shows in full
 * instead of being hidden by clients that slowed down with it (coordinated omission). Timers fire at
 * ~1 ms granularity: jobs that fell due meanwhile go out together, and their lateness counts too.
 */
export async function submitAtRate(
  connections: readonly HttpConnection[],
  rate: number,
  count: number,
  submit: Submit,
): Promise<Latencies> {
  if (!(rate > 0)) throw new Error(`--rate must be a positive number of jobs per second, not ${rate}`);
  const idle = [...connections];
  const waiting: ((connection: HttpConnection) => void)[] = [];
  const acquire = () => idle.pop() ?? new Promise<HttpConnection>((resolve) => waiting.push(resolve));
  const release = (connection: HttpConnection) => {
    const next = waiting.shift();
    if (next) next(connection);
    else idle.push(connection);
  };
  const latencies: Latencies = { ms: [], at: [] };
  const start = performance.now();
  const one = async (due: number) => {
    const connection = await acquire();
    try {
      await submit(connection);
    } finally {
      release(connection);
    }
    latencies.ms.push(performance.now() - due);
    latencies.at.push(due - start);
  };
  const submissions: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const ahead = due - performance.now();
    if (ahead > 0) await sleep(ahead);
    submissions.push(one(due));
  }
  await Promise.all(submissions);
  return latencies;
}

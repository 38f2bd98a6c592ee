/**
 * What `npm run bench` reads from the running stack around a workload: Postgres's commit and WAL counters,
 * jobs counted in the bench database, the gateway's event loop and GC from its /metrics, and CPU time per
 * process from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import type { Stack } from '#testing';
import { cpuSecondsOf } from './measure.js';

/** Committed transactions in the bench database so far (pg_stat_database lags by up to ~0.5 s). */
export async function committed(sql: pg.Client): Promise<number> {
  await sql.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await sql.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? 0);
}

/** Where Postgres's write-ahead log is now (cluster-wide: every database on the server writes to it). */
export async function walPosition(sql: pg.Client): Promise<string> {
  const { rows } = await sql.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0]?.lsn ?? '0/0';
}

export async function walBytesSince(sql: pg.Client, lsn: string): Promise<number> {
  const { rows } = await sql.query<{ n: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS n', [
    lsn,
  ]);
  return Number(rows[0]?.n ?? 0);
}

export interface GatewayRuntime {
  /** Event-loop delay since the last scrape (prom-client resets its histogram at every scrape). */
  readonly lagP99: number;
  readonly lagMax: number;
  /** GC pauses since the start, all kinds, and of them the full (major) collections. */
  readonly gcCount: number;
  readonly gcSeconds: number;
  readonly majorCount: number;
}

/**
 * The gateway's own view of its event loop and GC, from its /metrics. Requests that arrive together are
 * taken in by one event-loop turn, so a long turn delays all of them, whether it was long for work, for a
 * GC pause, or for waiting on a core the other processes hold: the submit p99 is made of such turns.
 */
export async function gatewayRuntime(gateway: string): Promise<GatewayRuntime> {
  const text = await (await fetch(new URL('/metrics', gateway))).text();
  const value = (name: string, labels = '') =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .filter((line) => line.includes(labels))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    lagP99: value('nodejs_eventloop_lag_p99_seconds'),
    lagMax: value('nodejs_eventloop_lag_max_seconds'),
    gcCount: value('nodejs_gc_duration_seconds_count'),
    gcSeconds: value('nodejs_gc_duration_seconds_sum'),
    majorCount: value('nodejs_gc_duration_seconds_count', 'kind="major"'),
  };
}

export async function counted(sql: pg.Client, where: string): Promise<number> {
  const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM gateway.jobs WHERE ${where}`);
  return Number(rows[0]?.n ?? 0);
}

/**
 * CPU seconds [user, system] used so far by each service, the RabbitMQ node, every Postgres process and
 * this load driver, from /proc. The broker and Postgres are shared with anything else running here.
 */
export function cpuSeconds(stack: Stack): Record<string, [number, number]> {
  const byName = (pattern: RegExp): [number, number] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .reduce<[number, number]>(
        (sum, pid) => {
          try {
            if (!pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) return sum;
            const [user, sys] = cpuSecondsOf(Number(pid));
            return [sum[0] + user, sum[1] + sys];
          } catch {
            return sum;
          }
        },
        [0, 0],
      );
  const result: Record<string, [number, number]> = {};
  for (const [service, child] of stack.processes) result[service] = cpuSecondsOf(child.pid);
  result.rabbitmq = byName(/beam\.smp/);
  result.postgres = byName(/^postgres/);
  result['load driver'] = cpuSecondsOf(process.pid);
  return result;
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nonEmptyQueues, startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { printTable, reckon } from './support/ledger.js';
import { Traffic } from './support/traffic.js';

// The issue stops Postgres for 30 s; 20 s keeps the scenario short and still outlasts every pool timeout.
const OUTAGE_MS = Number(process.env.FAULT_PG_OUTAGE_MS ?? 30_000);
/**
 * The services' default retry tiers: the gateway's lifecycle-event consumer retries a failed database
 * write 10 times along them, and an event that runs out of attempts is dead-lettered into
 * `gateway.job-events.dlq`, which nothing drains: its job then never ends. With the suite's short tiers
 * (200ms,500ms,1s: ~8 s of retries) a 20 s outage strands jobs that way; see FAULT_PG_RETRY_TIERS.
 */
const RETRY_TIERS = process.env.FAULT_PG_RETRY_TIERS ?? '1s,5s,30s,2m,10m';

interface Probe {
  readonly at: number;
  readonly live: number;
  readonly ready: number;
}

/** Scenario 3: Postgres crashed (`pg_ctl stop -m immediate`) under load, then started again. */
describe('Postgres down under load', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({
      label: 'fault-pg',
      services: ['gateway', 'report-service'],
      env: { RETRY_TIERS },
    });
  }, 180_000);

  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  it('answers 503 with Retry-After at once, never a 202 without a job, and recovers', async () => {
    const { stack, postgres } = env;
    const traffic = new Traffic(stack.urls.gateway, { concurrency: 8 }).start();
    const probes: Probe[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const status = async (path: string) =>
          (
            await fetch(`${stack.urls.gateway}${path}`, { signal: AbortSignal.timeout(5000) }).catch(
              () => undefined,
            )
          )?.status ?? 0;
        probes.push({
          at: traffic.elapsedMs,
          live: await status('/health/live'),
          ready: await status('/health/ready'),
        });
        await pause(250);
      }
    })();

    await pause(10_000);
    const down = traffic.elapsedMs;
    await postgres.stop('immediate');
    const stopped = traffic.elapsedMs;
    await pause(OUTAGE_MS);
    const restart = traffic.elapsedMs;
    await postgres.start();
    const up = traffic.elapsedMs;
    const firstAccepted = await waitForAccepted(traffic, up);
    await pause(10_000);
    probing = false;
    await prober;
    await traffic.stop();
    const loadSeconds = traffic.elapsedMs / 1000;

    const accepted = traffic.accepted();
    const result = await reckon(stack, accepted, 180_000);
    // The settled part of the outage: from a second after the crash to the restart.
    const inOutage = (o: { at: number }) => o.at >= stopped + 1000 && o.at < restart;
    const outageAnswers = traffic.outcomes.filter(inOutage);
    const latencies = outageAnswers.map((o) => o.ms).sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const outageProbes = probes.filter(inOutage);
    const count = (values: number[]) =>
      values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
    const withoutRetryAfter = outageAnswers.filter(
      (o) => o.status === 503 && o.retryAfter === undefined,
    ).length;

    printTable('Scenario 3 — Postgres crashed (pg_ctl stop -m immediate) under load', [
      ['load', `echo jobs from 8 clients for ${loadSeconds.toFixed(0)} s; RETRY_TIERS ${RETRY_TIERS}`],
      [
        'outage',
        `stop at ${(down / 1000).toFixed(1)} s, down ${((up - stopped) / 1000).toFixed(1)} s (restart incl. crash recovery ${((up - restart) / 1000).toFixed(1)} s)`,
      ],
      ['answers before the outage', traffic.statusCounts(0, down)],
      ['answers during the outage (settled part)', traffic.statusCounts(stopped + 1000, restart)],
      ['503 without Retry-After', withoutRetryAfter],
      [
        'latency during the outage p50 / p99 / max',
        `${pct(0.5)} / ${pct(0.99)} / ${latencies.at(-1) ?? 0} ms`,
      ],
      ['answers around the crash (first second)', traffic.statusCounts(down, stopped + 1000)],
      ['/health/live during the outage', count(outageProbes.map((p) => p.live))],
      ['/health/ready during the outage', count(outageProbes.map((p) => p.ready))],
      [
        'first 202 after Postgres was up again',
        firstAccepted === undefined ? 'none within 15 s' : `${((firstAccepted - up) / 1000).toFixed(1)} s`,
      ],
      ['answers after the restart', traffic.statusCounts(up)],
      ['accepted (202)', accepted.length],
      ['202 without a job in gateway.jobs', result.missing],
      ['lost: not terminal after 180 s', result.notTerminal],
      ['jobs by status', result.byStatus],
      ['queues holding messages at the end', await nonEmptyQueues(env)],
    ]);

    expect(outageAnswers.length).toBeGreaterThan(0);
    expect(outageAnswers.filter((o) => o.status !== 503)).toEqual([]);
    expect(withoutRetryAfter).toBe(0);
    expect(latencies.at(-1) ?? 0).toBeLessThan(1000);
    expect(outageProbes.filter((p) => p.ready !== 503 || p.live !== 200)).toEqual([]);
    expect(firstAccepted).toBeDefined();
    expect(Object.keys(traffic.statusCounts()).filter((s) => s !== '202' && s !== '503')).toEqual([]);
    expect(result.missing).toBe(0);
    expect(result.notTerminal).toBe(0);
    expect(result.unexpectedFailures).toBe(0);
  });
});

/** When (traffic clock) the first request sent after `from` was accepted; undefined if none within 15 s. */
async function waitForAccepted(traffic: Traffic, from: number): Promise<number | undefined> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const first = traffic.outcomes
      .filter((o) => o.status === 202 && o.at >= from)
      .sort((a, b) => a.at - b.at)[0];
    if (first) return first.at + first.ms;
    await pause(100);
  }
  return undefined;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

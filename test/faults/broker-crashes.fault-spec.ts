import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { printTable, reckon } from './support/ledger.js';
import { Traffic } from './support/traffic.js';

// The issue kills the broker 5 times; 3 keep the scenario near three minutes on two cores.
const KILLS = Number(process.env.FAULT_BROKER_KILLS ?? 5);
const DOWN_MS = 3000;
const WINDOW_MS = 10_000;
const RECOVERY_LIMIT_MS = 30_000;

/** Scenario 2: the broker `kill -9`ed and started again, several times, under steady load. */
describe('broker killed under load', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({ label: 'fault-broker', services: ['gateway', 'report-service'] });
  }, 180_000);

  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  it('keeps answering 202 or 503 and loses nothing; throughput comes back', async () => {
    const { stack, rabbit } = env;
    const traffic = new Traffic(stack.urls.gateway, { concurrency: 8 }).start();
    const kills: { at: number; up: number }[] = [];
    await pause(WINDOW_MS);
    for (let k = 0; k < KILLS; k++) {
      const at = traffic.elapsedMs;
      await rabbit.kill();
      await pause(DOWN_MS);
      await rabbit.start();
      kills.push({ at, up: traffic.elapsedMs });
      await pause(RECOVERY_LIMIT_MS);
    }
    await traffic.stop();

    const accepted = traffic.accepted();
    const result = await reckon(stack, accepted, 180_000);
    // When each accepted job finished, on the traffic's clock: the completion rate around each kill.
    const finished = (
      await stack.query<{ ms: string }>(
        `SELECT (extract(epoch FROM finished_at) * 1000)::bigint AS ms FROM gateway.jobs
          WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`,
        [accepted.map((o) => o.id)],
      )
    ).map((r) => Number(r.ms) - traffic.startedAt);
    const completedPerSecond = (from: number, to: number) =>
      finished.filter((t) => t >= from && t < to).length / ((to - from) / 1000);

    const rows: [string, unknown][] = [
      ['load', `echo jobs from 8 clients for ${(traffic.elapsedMs / 1000).toFixed(0)} s`],
      [
        'broker kills',
        `${KILLS} × kill -9 of beam.smp, ${DOWN_MS / 1000} s down, then started on the same data`,
      ],
      ['answers', traffic.statusCounts()],
    ];
    const recovered: boolean[] = [];
    for (const [i, kill] of kills.entries()) {
      const before = completedPerSecond(kill.at - WINDOW_MS, kill.at);
      const acceptedBefore = traffic.acceptedPerSecond(kill.at - WINDOW_MS, kill.at);
      // The first 5-second window after the restart whose completion rate is back to 90 % of before.
      let backAfter: number | undefined;
      for (let t = kill.up; t + 5000 <= kill.up + RECOVERY_LIMIT_MS; t += 1000) {
        if (completedPerSecond(t, t + 5000) >= 0.9 * before) {
          backAfter = t + 5000 - kill.up;
          break;
        }
      }
      recovered.push(backAfter !== undefined);
      const during = traffic.outcomes.filter((o) => o.at >= kill.at && o.at < kill.up);
      rows.push(
        [
          `kill ${i + 1}: at / broker up again`,
          `${(kill.at / 1000).toFixed(1)} s / ${(kill.up / 1000).toFixed(1)} s (${((kill.up - kill.at) / 1000).toFixed(1)} s down)`,
        ],
        [`kill ${i + 1}: answers while down`, traffic.statusCounts(kill.at, kill.up)],
        [`kill ${i + 1}: slowest answer while down`, `${Math.max(0, ...during.map((o) => o.ms))} ms`],
        [
          `kill ${i + 1}: accepted/s 10 s before → 10 s after`,
          `${acceptedBefore.toFixed(0)} → ${traffic.acceptedPerSecond(kill.up, kill.up + WINDOW_MS).toFixed(0)}`,
        ],
        [
          `kill ${i + 1}: completed/s 10 s before → 10 s after`,
          `${before.toFixed(0)} → ${completedPerSecond(kill.up, kill.up + WINDOW_MS).toFixed(0)}`,
        ],
        [
          `kill ${i + 1}: completions ≥ 90 % again`,
          backAfter === undefined
            ? 'NOT within 30 s'
            : `${(backAfter / 1000).toFixed(0)} s after the restart`,
        ],
      );
    }
    rows.push(
      ['accepted (202)', accepted.length],
      ['lost: missing from gateway.jobs', result.missing],
      ['lost: not terminal after 180 s', result.notTerminal],
      ['jobs by status', result.byStatus],
      ['jobs started more than once (redelivered)', result.startedMoreThanOnce],
    );
    printTable('Scenario 2 — broker kill -9 and restart under load', rows);

    const answers = traffic.statusCounts();
    expect(Object.keys(answers).filter((s) => s !== '202' && s !== '503')).toEqual([]);
    expect(result.missing).toBe(0);
    expect(result.notTerminal).toBe(0);
    expect(result.unexpectedFailures).toBe(0);
    expect(recovered).toEqual(kills.map(() => true));
  });
});

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

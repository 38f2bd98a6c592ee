import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ServiceName } from '#testing';
import { startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { countCharges, printTable, reckon } from './support/ledger.js';
import { Traffic } from './support/traffic.js';

// The figures are 20,000 echo jobs + 2,000 payments and 20 SIGKILLs; these keep the scenario
// within a few minutes on two cores. Submission is paced to last about as long as the kills go on
// (~70 s), so that every kill meets work in flight.
const MAX_JOBS = Number(process.env.FAULT_MAX_JOBS ?? 20_000);
const RATE = Number(process.env.FAULT_RATE ?? 280);
const PAYMENT_SHARE = 0.1;
const KILLS = Number(process.env.FAULT_KILLS ?? 20);
const VICTIMS: readonly ServiceName[] = ['report-service', 'payment-service'];

/** Scenario 1: workers SIGKILLed at random moments while echo jobs and payments pour in. */
describe('workers killed under load', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({
      label: 'fault-kill',
      // Room between the provider's capture and the inbox row: where a crash could charge twice.
      env: { SANDBOX_LATENCY: '20ms' },
    });
  }, 180_000);

  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  it('loses no accepted job and charges no customer twice', async () => {
    const { stack } = env;
    const traffic = new Traffic(stack.urls.gateway, {
      concurrency: 16,
      paymentShare: PAYMENT_SHARE,
      ratePerSecond: RATE,
    }).start(MAX_JOBS);
    const kills: string[] = [];
    // Spread the kills over the submission and the backlog behind it.
    for (let k = 0; k < KILLS; k++) {
      await pause(1000 + Math.random() * 1500);
      const victim = VICTIMS[Math.floor(Math.random() * VICTIMS.length)] ?? 'report-service';
      const inFlight = await stack.query<{ n: string }>(
        `SELECT count(*) AS n FROM gateway.jobs WHERE status NOT IN ('succeeded', 'failed', 'cancelled')`,
      );
      await stack.killService(victim);
      kills.push(`${victim}@${(traffic.elapsedMs / 1000).toFixed(1)}s (${inFlight[0]?.n ?? '?'} unfinished)`);
      await stack.restart(victim);
    }
    await traffic.stop();
    const submitSeconds = traffic.elapsedMs / 1000;

    const accepted = traffic.accepted();
    const result = await reckon(stack, accepted, 180_000);
    const charges = await countCharges(stack, accepted);
    printTable('Scenario 1 — report-service and payment-service SIGKILLed under load', [
      [
        'requests sent',
        `${traffic.outcomes.length} (at most ${MAX_JOBS} at ${RATE}/s, ~${PAYMENT_SHARE * 100} % payments, 16 clients)`,
      ],
      ['answers', traffic.statusCounts()],
      [
        'accepted (202): echo / payment',
        `${traffic.accepted('echo').length} / ${traffic.accepted('payment').length}`,
      ],
      ['SIGKILLs', `${kills.length}: ${kills.join(', ')}`],
      ['submission took', `${submitSeconds.toFixed(1)} s`],
      ['lost: missing from gateway.jobs', result.missing],
      ['lost: not terminal after 180 s', result.notTerminal],
      ['jobs by status', result.byStatus],
      ['unexpected failures', result.unexpectedFailures],
      ...result.unexpectedSamples.map((x): [string, string] => ['  unexpected', x]),
      ['jobs started more than once (redelivered)', result.startedMoreThanOnce],
      [
        'payment jobs succeeded / captured charges',
        `${charges.paymentJobsSucceeded} / ${charges.capturedCharges}`,
      ],
      ['jobs charged twice', charges.jobsChargedTwice],
      ['captures of no accepted job', charges.unaccountedCharges],
      ['succeeded without a capture', charges.succeededWithoutCharge],
    ]);

    expect(traffic.statusCounts()).toEqual({ 202: traffic.outcomes.length });
    expect(result.missing).toBe(0);
    expect(result.notTerminal).toBe(0);
    expect(result.unexpectedFailures).toBe(0);
    expect(charges.jobsChargedTwice).toBe(0);
    expect(charges.unaccountedCharges).toBe(0);
    expect(charges.succeededWithoutCharge).toBe(0);
    expect(charges.capturedCharges).toBe(charges.paymentJobsSucceeded);
  });
});

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SERVICES } from '#testing';
import { startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { countCharges, explainJob, printTable, reckon } from './support/ledger.js';
import { Traffic } from './support/traffic.js';

/** Scenario 6: every service in turn gets SIGTERM, exits, starts again and turns ready, under steady load. */
describe('rolling restart under load', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({ label: 'fault-roll', env: { SANDBOX_LATENCY: '20ms' } });
  }, 180_000);

  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  it('answers no 5xx but 503 and loses nothing', async () => {
    const { stack } = env;
    const traffic = new Traffic(stack.urls.gateway, { concurrency: 8, paymentShare: 0.1 }).start();
    const steps: [string, string][] = [];
    await pause(5000);
    for (const service of SERVICES) {
      const from = traffic.elapsedMs;
      const pid = stack.processes.get(service)?.pid;
      await stack.stopService(service);
      const exited = stack.processes.get(service)?.process.exitCode;
      const down = traffic.elapsedMs;
      await stack.restart(service);
      const ready = traffic.elapsedMs;
      steps.push([
        `${service} (pid ${pid})`,
        `SIGTERM → exit ${exited} in ${((down - from) / 1000).toFixed(1)} s, ready again ${((ready - down) / 1000).toFixed(1)} s later; answers meanwhile ${JSON.stringify(traffic.statusCounts(from, ready))}`,
      ]);
      await pause(5000);
    }
    await traffic.stop();
    const loadSeconds = traffic.elapsedMs / 1000;

    const accepted = traffic.accepted();
    const result = await reckon(stack, accepted, 180_000);
    const charges = await countCharges(stack, accepted);
    const answers = traffic.statusCounts();
    const bad5xx = Object.entries(answers)
      .filter(([s]) => /^5\d\d$/.test(s) && s !== '503')
      .reduce((n, [, c]) => n + c, 0);
    printTable('Scenario 6 — rolling restart (SIGTERM, exit, start, ready) of every service under load', [
      ['load', `echo jobs + ~10 % payments from 8 clients for ${loadSeconds.toFixed(0)} s`],
      ...steps,
      ['answers', answers],
      ['5xx other than 503', bad5xx],
      [
        'connection errors / timeouts (gateway restarting)',
        `${answers.error ?? 0} / ${answers.timeout ?? 0}`,
      ],
      ['accepted (202)', accepted.length],
      ['lost: missing from gateway.jobs', result.missing],
      ['lost: not terminal after 180 s', result.notTerminal],
      ['jobs by status', result.byStatus],
      ['unexpected failures', result.unexpectedFailures],
      ...result.unexpectedSamples.map((x): [string, string] => ['  unexpected', x]),
      ['jobs started more than once (redelivered)', result.startedMoreThanOnce],
      ['jobs charged twice', charges.jobsChargedTwice],
    ]);

    for (const sample of result.unexpectedSamples) {
      process.stdout.write(`\n${await explainJob(stack, sample.split(' ')[0] ?? '')}\n`);
    }

    expect(bad5xx).toBe(0);
    expect(result.missing).toBe(0);
    expect(result.notTerminal).toBe(0);
    expect(result.unexpectedFailures).toBe(0);
    expect(charges.jobsChargedTwice).toBe(0);
  });
});

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

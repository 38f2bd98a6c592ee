/**
 * `npm run bench:reports`: CSV and PDF reports through the gateway (gateway + report-service running as
 * processes, fresh prefix, one fresh database seeded step by step up to the largest case), printing per
 * report: wall time (submit → `succeeded`, polled every 100 ms), rows/s, report-service's peak RSS (VmRSS
 * sampled every 100 ms during the run) and the worst event-loop lag p99 read from its /metrics every 250 ms
 * (prom-client's `nodejs_eventloop_lag_p99_seconds` resets at every scrape, so each sample is the p99 of
 * the 250 ms before it). Then four 50,000-row PDFs submitted at once, with `GET /health/ready` timed every
 * 50 ms. Figures are printed, never asserted.
 *
 *   npm run bench:reports
 */
import { availableParallelism } from 'node:os';
import { createTestDatabase, procKiB, Stack, waitFor } from '#testing';

const KEY = 'bench-key';
const COMMAND = 'npm run bench:reports';

interface Case {
  readonly format: 'csv' | 'pdf';
  readonly rows: number;
}

const CASES: readonly Case[] = [
  { format: 'csv', rows: 10_000 },
  { format: 'pdf', rows: 10_000 },
  { format: 'pdf', rows: 50_000 },
  { format: 'csv', rows: 100_000 },
  { format: 'csv', rows: 1_000_000 },
];
const CONCURRENT_PDF_ROWS = 50_000;

interface Job {
  status: string;
  result?: { rows: number; bytes: number };
}

const database = await createTestDatabase('bench_reports');
const concurrentLines: string[] = [];
const out = (line = '') => {
  process.stdout.write(`${line}\n`);
};

try {
  out(`cores (os.availableParallelism): ${availableParallelism()}; command: ${COMMAND}`);
  out();
  out('| report      | rows      | wall s | rows/s  | MiB out | peak RSS MiB | event-loop lag p99 max ms |');
  out('|-------------|-----------|--------|---------|---------|--------------|---------------------------|');
  let seeded = 0;
  let stack: Stack | undefined;
  for (const c of CASES) {
    if (c.rows !== seeded) {
      await stack?.stop();
      // Seeding is idempotent and only adds what is missing, so one database grows from case to case.
      stack = await startStack(c.rows);
      seeded = c.rows;
    }
    if (!stack) throw new Error('no stack');
    const m = await measure(stack, [c.format], c.rows);
    out(
      `| ${c.format.toUpperCase().padEnd(11)} | ${String(c.rows).padStart(9)} | ${m.wallSeconds.toFixed(1).padStart(6)} | ${String(Math.round(c.rows / m.wallSeconds)).padStart(7)} | ${(m.bytes / 2 ** 20).toFixed(1).padStart(7)} | ${m.peakRssMiB.toFixed(0).padStart(12)} | ${(m.maxLagP99 * 1000).toFixed(1).padStart(25)} |`,
    );
    if (c.format === 'pdf' && c.rows === CONCURRENT_PDF_ROWS) {
      const concurrent = await measure(stack, ['pdf', 'pdf', 'pdf', 'pdf'], c.rows, true);
      concurrentLines.push(
        `four ${CONCURRENT_PDF_ROWS}-row PDFs submitted at once: all done in ${concurrent.wallSeconds.toFixed(1)} s, ${concurrent.failed} failed`,
        `GET /health/ready every 50 ms: ${concurrent.probe.count} probes, p50 ${concurrent.probe.p50.toFixed(1)} ms, p99 ${concurrent.probe.p99.toFixed(1)} ms, max ${concurrent.probe.max.toFixed(1)} ms, non-200: ${concurrent.probe.failures}`,
        `event-loop lag p99 (max of 250 ms /metrics samples): ${(concurrent.maxLagP99 * 1000).toFixed(1)} ms; peak RSS ${concurrent.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  }
  await stack?.stop();
  out();
  for (const line of concurrentLines) out(line);
  out();
} finally {
  await database.drop();
}

async function startStack(rows: number): Promise<Stack> {
  return Stack.start({
    label: 'bench-reports',
    databaseUrl: database.url,
    env: { API_KEYS: `bench:${KEY}:jobs:write+jobs:read`, ORDERS_SEED_ROWS: String(rows), LOG_LEVEL: 'warn' },
    services: ['gateway', 'report-service'],
  });
}

interface Measured {
  wallSeconds: number;
  bytes: number;
  peakRssMiB: number;
  maxLagP99: number;
  failed: number;
  probe: { count: number; p50: number; p99: number; max: number; failures: number };
}

/** Submits one report per entry of `formats` at once and samples report-service until all have ended. */
async function measure(
  stack: Stack,
  formats: readonly ('csv' | 'pdf')[],
  expectedRows: number,
  probeHealth = false,
): Promise<Measured> {
  const worker = stack.processes.get('report-service');
  if (!worker) throw new Error('report-service is not running');
  const service = stack.urls['report-service'];
  const rssMiB = () => procKiB(worker.pid, 'status')('VmRSS') / 1024;
  const lagP99 = async () => {
    const text = await (await fetch(`${service}/metrics`)).text();
    return Number(
      /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(text)?.[1] ?? Number.NaN,
    );
  };
  await lagP99(); // resets the histogram: samples cover this run only
  let peak = rssMiB();
  let maxLag = 0;
  const probes: number[] = [];
  let probeFailures = 0;
  const run = { active: true };
  const rss = setInterval(() => (peak = Math.max(peak, rssMiB())), 100);
  const lag = (async () => {
    while (run.active) {
      await sleep(250);
      const value = await lagP99();
      if (Number.isFinite(value)) maxLag = Math.max(maxLag, value);
    }
  })();
  const health = (async () => {
    while (run.active && probeHealth) {
      const started = performance.now();
      const response = await fetch(`${service}/health/ready`);
      await response.arrayBuffer();
      probes.push(performance.now() - started);
      if (response.status !== 200) probeFailures++;
      await sleep(50);
    }
  })();

  const started = performance.now();
  const ids = await Promise.all(
    formats.map(async (format) => {
      const response = await fetch(`${stack.urls.gateway}/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ format, dataset: 'orders' }),
      });
      return ((await response.json()) as { id: string }).id;
    }),
  );
  const jobs = await Promise.all(
    ids.map((id) =>
      waitFor(
        async () => {
          const job = (await (
            await fetch(`${stack.urls.gateway}/v1/jobs/${id}`, {
              headers: { authorization: `Bearer ${KEY}` },
            })
          ).json()) as Job;
          return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
        },
        { timeoutMs: 20 * 60_000, intervalMs: 100, description: `report ${id}` },
      ),
    ),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  run.active = false;
  clearInterval(rss);
  await Promise.all([lag, health]);
  for (const job of jobs) {
    if (job.status === 'succeeded' && job.result?.rows !== expectedRows) {
      throw new Error(`expected ${expectedRows} rows, got ${job.result?.rows}`);
    }
  }
  probes.sort((a, b) => a - b);
  const pct = (p: number) => probes[Math.min(probes.length - 1, Math.floor((p / 100) * probes.length))] ?? 0;
  return {
    wallSeconds,
    bytes: jobs.reduce((sum, job) => sum + (job.result?.bytes ?? 0), 0),
    peakRssMiB: peak,
    maxLagP99: maxLag,
    failed: jobs.filter((job) => job.status !== 'succeeded').length,
    probe: {
      count: probes.length,
      p50: pct(50),
      p99: pct(99),
      max: probes.at(-1) ?? 0,
      failures: probeFailures,
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

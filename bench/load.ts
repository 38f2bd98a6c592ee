/**
 * `npm run bench`: N echo jobs submitted by C concurrent clients through the gateway, all four services
 * running as processes on this machine against the real RabbitMQ and Postgres (fresh prefix and database).
 *
 * Prints submit latency (p50/p95/p99), submit req/s, end-to-end jobs/s (first submit → last `succeeded`,
 * read from Postgres, not by polling jobs), and each service's peak RSS.
 *
 *   npm run bench                                 both workloads of the performance issue, then the four
 *                                                 figures and a dated row appended to bench/RESULTS.md
 *   npm run bench -- --n 20000 --c 50              the light workload alone
 *   npm run bench -- --n 200 --c 50 --cpu-ms 50    the heavy workload alone
 *   npm run bench -- --n 20000 --c 50 --hold-workers   the intake alone: report-service stopped while
 *                                                 submitting, then let loose on the backlog
 *   npm run bench -- --n 20000 --c 50 --rate 1500  open loop: a job is due every 1/1500 s whether or not
 *                                                 the last one was answered, at most C in flight; latency
 *                                                 counts from when the job was due
 *   BENCH_WARMUP=200 npm run bench -- …           fewer light warm-up jobs than the default 2,000
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Stack, waitFor } from '#testing';
import { HttpConnection } from './http-connection.js';
import { calibrate, p99BySecond, percentile, submitAll, submitAtRate } from './measure.js';
import { committed, counted, cpuSeconds, gatewayRuntime, walBytesSince, walPosition } from './readings.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    c: { type: 'string' },
    'cpu-ms': { type: 'string' },
    /** Stop report-service while submitting (see below): what the intake alone can take. */
    'hold-workers': { type: 'boolean' },
    /** Offer jobs at this many per second instead of as fast as C clients can (see submitAtRate). */
    rate: { type: 'string' },
    /** Write V8 CPU profiles of the services into this folder (for finding hot spots). */
    'cpu-prof': { type: 'string' },
  },
});
const KEY = 'bench-key';
/** Light echo jobs submitted before each workload and not counted (see the warm-up below). */
const WARM_UP_LIGHT = Number(process.env.BENCH_WARMUP ?? 2000);

interface Figures {
  readonly jobsPerSecond: number;
  readonly submitP99: number;
  readonly peakRssTotal: number;
  /** The machine-speed calibration taken before the workload (ms; lower is faster). */
  readonly speedMs: number;
}

/** One workload on a fresh stack (its own prefix and database); prints its table and returns the figures. */
async function runWorkload(N: number, C: number, CPU_MS: number, rate?: number): Promise<Figures> {
  const speed = calibrate();
  const stack = await Stack.start({
    label: 'bench',
    env: {
      API_KEYS: `bench:${KEY}:jobs:write+jobs:read`,
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '20',
      // One key submits everything: the per-key rate limit and per-tenant cap would measure themselves.
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      MAX_IN_FLIGHT_PER_TENANT: '10000000',
    },
    nodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [],
  });
  const sql = new pg.Client({ connectionString: stack.databaseUrl });
  await sql.connect();
  const commits = () => committed(sql);
  const count = (where: string) => counted(sql, where);
  // --hold-workers (see where it is used).
  const held = values['hold-workers'] ? stack.processes.get('report-service') : undefined;

  try {
    const gateway = new URL(process.env.BENCH_PATH ?? '/v1/echo', stack.urls.gateway);
    const connections = await Promise.all(Array.from({ length: C }, () => HttpConnection.open(gateway)));
    const echoRequest = (cpuMs: number) =>
      HttpConnection.request(
        'POST',
        gateway,
        { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        JSON.stringify({ message: 'bench', cpuMs }),
      );
    const echo = echoRequest(CPU_MS);
    const light = echoRequest(0);
    const submit = async (connection: HttpConnection, request = echo): Promise<number> => {
      const started = process.hrtime.bigint();
      const status = await connection.send(request);
      if (status !== 202) throw new Error(`submit answered ${status}`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };

    // Warm-up, not counted: the services as they are after running a while — hot code (with 200 warm-up
    // submits instead of 2,200 the light p99 came out ~10 ms higher) and the CPU pool's threads started by
    // work of the workload's own kind (cold threads flatter a heavy burst: their start-up delays the burning
    // past it).
    const warm = async (count: number, request: Buffer) =>
      Promise.all(
        connections.map(async (connection, i) => {
          for (let n = i; n < count; n += C) await submit(connection, request);
        }),
      );
    const ownWarmUp = Math.min(200, N);
    await warm(WARM_UP_LIGHT, light);
    await warm(ownWarmUp, echo);
    const warmUp = WARM_UP_LIGHT + ownWarmUp;
    await waitFor(async () => (await count(`status = 'succeeded'`)) >= warmUp, {
      timeoutMs: 60_000,
    });
    const warmed = await count('true');

    // --hold-workers: report-service is stopped (SIGSTOP) while the jobs are submitted and resumed after,
    // so the submit figures are the intake's alone — the gateway, Postgres and the broker accepting work
    // with nothing running — and the end-to-end figure includes the drain of the whole backlog.
    held?.kill('SIGSTOP');
    // The peak RSS figures are the run's: start-up (migrations, the orders seed) and warm-up peak apart.
    const startupRss = stack.peakRssMiB();
    stack.resetPeakRss();
    const commitsBefore = await commits();
    const walBefore = await walPosition(sql);
    const runtimeBefore = await gatewayRuntime(stack.urls.gateway);
    const cpuBefore = cpuSeconds(stack);
    const firstSubmit = Date.now();
    const latencies =
      rate === undefined
        ? await submitAll(connections, N, submit)
        : await submitAtRate(connections, rate, N, submit);
    for (const connection of connections) connection.close();
    const submitSeconds = (Date.now() - firstSubmit) / 1000;
    held?.kill('SIGCONT');

    await waitFor(async () => (await count(`status IN ('succeeded', 'failed')`)) >= warmed + N, {
      timeoutMs: 30 * 60_000,
      intervalMs: 250,
      description: 'every job to finish',
    });
    const { rows } = await sql.query<{ last: Date; failed: string }>(
      `SELECT max(finished_at) AS last, count(*) FILTER (WHERE status = 'failed') AS failed
       FROM gateway.jobs WHERE created_at >= $1`,
      [new Date(firstSubmit)],
    );
    const commitsPerJob = (await commits()) - commitsBefore;
    const walPerJob = (await walBytesSince(sql, walBefore)) / N;
    const cpuAfter = cpuSeconds(stack);
    const runtime = await gatewayRuntime(stack.urls.gateway);
    const endToEndSeconds = ((rows[0]?.last.getTime() ?? Date.now()) - firstSubmit) / 1000;
    const sorted = [...latencies.ms].sort((a, b) => a - b);
    const pct = (p: number) => percentile(sorted, p);
    const rss = stack.peakRssMiB();
    const peakRssTotal = Object.values(rss).reduce((a, b) => a + b, 0);
    const memory = stack.memoryMiB();

    const table: [string, string][] = [
      [
        'workload',
        `${N} echo jobs${CPU_MS ? ` with cpuMs=${CPU_MS}` : ''}, ${rate === undefined ? `${C} concurrent clients` : `offered at ${rate}/s (open loop), at most ${C} in flight`}${held ? ', report-service held while submitting' : ''}`,
      ],
      [
        'warm-up before it (not counted)',
        `${WARM_UP_LIGHT} light echo jobs, then ${ownWarmUp} of the workload's`,
      ],
      ['submit p50 / p95 / p99', `${pct(50).toFixed(1)} / ${pct(95).toFixed(1)} / ${pct(99).toFixed(1)} ms`],
      ['submit p99 by second of the run (submits in it)', p99BySecond(latencies)],
      ['submit throughput', `${Math.round(N / submitSeconds)} req/s`],
      [
        'end-to-end throughput',
        `${Math.round(N / endToEndSeconds)} jobs/s (${endToEndSeconds.toFixed(1)} s for all)`,
      ],
      ['failed jobs', rows[0]?.failed ?? '?'],
      ['Postgres transactions per job (all services)', (commitsPerJob / N).toFixed(2)],
      ['Postgres WAL per job (the whole cluster)', `${Math.round(walPerJob)} bytes`],
      [
        "gateway's event loop over the run: delay p99 / max; GC",
        `${ms(runtime.lagP99)} / ${ms(runtime.lagMax)} ms; ${runtime.gcCount - runtimeBefore.gcCount} pauses, ` +
          `${ms(runtime.gcSeconds - runtimeBefore.gcSeconds)} ms in all, ${runtime.majorCount - runtimeBefore.majorCount} major`,
      ],
      ...Object.entries(rss).map(([service, mib]): [string, string] => [
        `peak RSS ${service} during the run (before it)`,
        `${mib} MiB (${startupRss[service] ?? '?'} MiB)`,
      ]),
      [
        'peak RSS, four services, during the run (before it)',
        `${peakRssTotal} MiB (${Object.values(startupRss).reduce((a, b) => a + b, 0)} MiB)`,
      ],
      [
        'RSS / PSS at the end, four services',
        `${memory.rss} / ${memory.pss} MiB (PSS splits the pages the processes share, mostly node's own code, between them)`,
      ],
      [
        'CPU per job, ms (of it in the kernel)',
        Object.entries(cpuAfter)
          .map(([who, [user, sys]]) => {
            const [user0, sys0] = cpuBefore[who] ?? [0, 0];
            const perJob = (s: number) => ((s * 1000) / N).toFixed(2);
            return `${who} ${perJob(user - user0 + sys - sys0)} (${perJob(sys - sys0)})`;
          })
          .join(', '),
      ],
    ];
    table.push(['machine speed before the run (fixed CPU loop, lower is faster)', `${speed.toFixed(0)} ms`]);
    const width = Math.max(...table.map(([k]) => k.length));
    process.stdout.write(`\n${table.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`).join('\n')}\n\n`);
    return {
      jobsPerSecond: Math.round(N / endToEndSeconds),
      submitP99: pct(99),
      peakRssTotal,
      speedMs: speed,
    };
  } finally {
    held?.kill('SIGCONT'); // a stopped process cannot stop
    await sql.end();
    await stack.stop();
  }
}

if (
  values.n !== undefined ||
  values.c !== undefined ||
  values['cpu-ms'] !== undefined ||
  values['hold-workers'] ||
  values.rate !== undefined
) {
  // One workload, as asked.
  await runWorkload(
    Number(values.n ?? 20_000),
    Number(values.c ?? 50),
    Number(values['cpu-ms'] ?? 0),
    values.rate === undefined ? undefined : Number(values.rate),
  );
} else {
  // The issue's two workloads, then the four figures together and a dated row in bench/RESULTS.md.
  const light = await runWorkload(20_000, 50, 0);
  const heavy = await runWorkload(200, 50, 50);
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const summary: [string, string][] = [
    [
      'machine',
      `${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    ],
    ['light: end-to-end jobs/s', `${light.jobsPerSecond}   (npm run bench -- --n 20000 --c 50)`],
    ['light: submit p99', `${light.submitP99.toFixed(1)} ms`],
    ['heavy: end-to-end jobs/s', `${heavy.jobsPerSecond}   (npm run bench -- --n 200 --c 50 --cpu-ms 50)`],
    ['heavy: submit p99 during the run', `${heavy.submitP99.toFixed(1)} ms`],
    ['light: peak RSS, four services, during the run', `${light.peakRssTotal} MiB`],
    [
      'machine speed before the light run',
      `${light.speedMs.toFixed(0)} ms (fixed CPU loop; lower is faster)`,
    ],
  ];
  const width = Math.max(...summary.map(([k]) => k.length));
  process.stdout.write(`${summary.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`).join('\n')}\n`);
  const row = `| ${date} | ${commit} | ${availableParallelism()} | ${light.jobsPerSecond} | ${light.submitP99.toFixed(1)} | ${heavy.jobsPerSecond} | ${heavy.submitP99.toFixed(1)} | ${light.peakRssTotal} | ${light.speedMs.toFixed(0)} |\n`;
  appendFileSync(new URL('./RESULTS.md', import.meta.url), row);
  process.stdout.write(`appended to bench/RESULTS.md: ${row}`);
}

function ms(seconds: number): string {
  return (seconds * 1000).toFixed(1);
}

/**
 * `npm run bench:report-memory`: a 1,000,000-row CSV export through the gateway, with report-service's
 * resident memory sampled every 100 ms while it renders. Prints rows, bytes, duration and peak RSS.
 *
 *   npm run bench:report-memory -- --rows 1000000
 */
import { parseArgs } from 'node:util';
import { Stack, procKiB, readVmHwmMiB, waitFor } from '#testing';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const ROWS = Number(values.rows);
const KEY = 'bench-key';

const stack = await Stack.start({
  label: 'bench-report',
  env: { API_KEYS: `bench:${KEY}:jobs:write+jobs:read`, ORDERS_SEED_ROWS: String(ROWS), LOG_LEVEL: 'warn' },
  services: ['gateway', 'report-service'],
});

try {
  const worker = stack.processes.get('report-service');
  if (!worker) throw new Error('report-service is not running');
  const rssMiB = () => procKiB(worker.pid, 'status')('VmRSS') / 1024;
  const before = rssMiB();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 100);

  const started = Date.now();
  const response = await fetch(`${stack.urls.gateway}/v1/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ format: 'csv', dataset: 'orders' }),
  });
  const { id } = (await response.json()) as { id: string };
  const job = await waitFor(
    async () => {
      const current = (await (
        await fetch(`${stack.urls.gateway}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${KEY}` } })
      ).json()) as { status: string; result?: { rows: number; bytes: number } };
      return current.status === 'succeeded' || current.status === 'failed' ? current : undefined;
    },
    { timeoutMs: 10 * 60_000, intervalMs: 250, description: 'the export to finish' },
  );
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);

  const rows: [string, string][] = [
    [
      'export',
      `${job.result?.rows ?? '?'} rows, ${((job.result?.bytes ?? 0) / 2 ** 20).toFixed(1)} MiB CSV, ${job.status}`,
    ],
    ['duration (submit → succeeded)', `${seconds.toFixed(1)} s`],
    ['report-service RSS before', `${before.toFixed(0)} MiB`],
    ['report-service RSS peak while rendering (100 ms samples)', `${peak.toFixed(0)} MiB`],
    ['report-service VmHWM (process lifetime peak, incl. seeding)', `${readVmHwmMiB(worker.pid)} MiB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`).join('\n')}\n\n`);
} finally {
  await stack.stop();
}

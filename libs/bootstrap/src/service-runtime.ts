/**
 * Node flags each service runs with, wherever it runs (npm start, tests, benchmarks, compose, k8s; the
 * deploy tests check the YAML against this).
 *
 * The gateway's old space is capped at 384 MiB, inside its 512 MiB pod limit. Without a cap V8 sizes the
 * heap for the machine (GiBs) and lets promoted garbage pile up to ~3× the live set before a full
 * collection: after 22,000 bench jobs the old space held 118 MiB, of which 38 MiB were live (heap snapshot).
 * Under a cap of less than ~2 GiB V8's heap controller lets the heap grow by a smaller factor, the
 * smaller the cap. Measured in the light bench (20,000 jobs): peak RSS 206 and 208 MiB without a cap,
 * 161–169 MiB with 96, 128 (two runs each), 256 or 384 (one each), throughput within the runs' spread.
 * 384 leaves ten times the live set for what may really be live (SSE streams, requests in flight).
 *
 * report-service only streams rows and bytes on its main thread, so a small old space keeps its memory
 * flat: V8 otherwise lets garbage from a long export pile up to ~200 MiB before collecting it (measured
 * with `npm run bench:report-memory`). payment-service and notification-service wait on I/O (the
 * provider, SMTP, webhooks) and allocate little: a 1 MiB young generation (V8's default grows to 16) takes
 * ~22 MiB off each one's RSS (measured: 136 → 114 and 146 → 119 MiB idle).
 *
 * report-service's main thread gets a 2 MiB semi-space too: seeding the orders table at start grows V8's
 * young generation to its 32 MiB maximum, which then stays committed. Light bench, three runs each next to
 * each other: its peak RSS 148 → 121 MiB, its CPU per job unchanged (0.12–0.16 ms either way). The CPU
 * pool's threads set their own young generation (cpu-pool.ts).
 *
 * The gateway keeps the default young generation: requests in flight survive a small one's scavenges and
 * get promoted. Measured in the same runs: semi-space 2 → gateway CPU per job +30 % (0.32–0.35 → 0.43–0.46
 * ms); 4 → +20 % and −8 % throughput for 25 MiB less RSS; 8 → 15 MiB less, within the noise.
 */
export const SERVICE_NODE_OPTIONS: Readonly<Record<string, string>> = {
  gateway: '--max-old-space-size=384',
  'report-service': '--max-old-space-size=128 --max-semi-space-size=2',
  'payment-service': '--max-semi-space-size=1',
  'notification-service': '--max-semi-space-size=1',
};

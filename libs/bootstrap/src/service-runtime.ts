/**
 * Node flags each service runs with, wherever it runs (npm start, tests, benchmarks, compose, k8s; the
 * deploy tests check the YAML against this). report-service only streams rows and bytes on its main
 * thread, so a small old space keeps its memory flat: V8 otherwise lets garbage from a long export pile
 * up to ~200 MiB before collecting it (measured with `npm run bench:report-memory`).
 */
export const SERVICE_NODE_OPTIONS: Readonly<Record<string, string>> = {
  'report-service': '--max-old-space-size=128',
};

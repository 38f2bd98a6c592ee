/**
 * Node flags each service runs with, wherever it runs (npm start, tests, benchmarks, compose, k8s; the
 * deploy tests check the YAML against this). report-service only streams rows and bytes on its main
 * thread, so a small old space keeps its memory flat: V8 otherwise lets garbage from a long export pile
 * up to ~200 MiB before collecting it (measured with `npm run bench:report-memory`). payment-service and
 * notification-service wait on I/O (the provider, SMTP, webhooks) and allocate little: a 1 MiB young
 * generation (V8's default grows to 16) takes ~22 MiB off each one's RSS (measured: 136 → 114 and
 * 146 → 119 MiB idle). The gateway and report-service keep the default: on their hot paths a small young
 * generation costs more in scavenges than it saves.
 */
export const SERVICE_NODE_OPTIONS: Readonly<Record<string, string>> = {
  'report-service': '--max-old-space-size=128',
  'payment-service': '--max-semi-space-size=1',
  'notification-service': '--max-semi-space-size=1',
};

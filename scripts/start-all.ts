/**
 * `npm start`: all four services on this machine, each its own process (as in production), their output
 * prefixed, stopped together on Ctrl-C / SIGTERM. Each service applies its own migrations (and
 * report-service its seed) before it listens. If one exits, the others are stopped too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_OPTIONS } from '#bootstrap';

const services = [
  { name: 'gateway', port: 3000 },
  { name: 'report-service', port: 3001 },
  { name: 'payment-service', port: 3002 },
  { name: 'notification-service', port: 3003 },
] as const;
const root = fileURLToPath(new URL('..', import.meta.url));
const children = new Map<string, ChildProcess>();
let stopping = false;

for (const { name, port } of services) {
  const child = spawn(process.execPath, [`${root}/apps/${name}/src/main.js`], {
    env: { ...localDefaults(), ...process.env, PORT: String(port), ...nodeOptions(name) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(name, child);
  const prefix = `[${name}]`.padEnd(23);
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${prefix} ${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      process.stdout.write(`${prefix} exited (${signal ?? code}); stopping the others\n`);
      stop();
    }
    if (children.size === 0) process.exit(stopping ? 0 : 1);
  });
}

void announceWhenReady();

async function announceWhenReady(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (const { port } of services) {
    const url = `http://127.0.0.1:${port}/health/ready`;
    while (!stopping && Date.now() < deadline) {
      const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  if (stopping) return;
  process.stdout.write(
    [
      '',
      'Conveyor is up.',
      '  API            http://127.0.0.1:3000/v1   (development key: Authorization: Bearer dev-key)',
      '  Swagger UI     http://127.0.0.1:3000/docs',
      '  Health         http://127.0.0.1:300{0,1,2,3}/health/ready',
      '  Try it         curl -s -X POST http://127.0.0.1:3000/v1/reports -H "Authorization: Bearer dev-key" \\',
      `                   -H "Content-Type: application/json" -d '{"format":"csv","dataset":"orders"}'`,
      '',
    ].join('\n') + '\n',
  );
}

function nodeOptions(name: string): Record<string, string> {
  const flags = SERVICE_NODE_OPTIONS[name];
  return flags ? { NODE_OPTIONS: [process.env.NODE_OPTIONS, flags].filter(Boolean).join(' ') } : {};
}

function stop(): void {
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/**
 * One machine, local broker: the management API of a local RabbitMQ (for `GET /v1/admin/queues`'s unacked
 * counts) when the broker URL is the default one. Anything set in the environment wins.
 */
function localDefaults(): Record<string, string> {
  return process.env.RABBITMQ_URL === undefined
    ? { RABBITMQ_MANAGEMENT_URL: 'http://guest:guest@127.0.0.1:15672' }
    : {};
}

/**
 * `npm start`: all four services on this machine, each its own process (as in production), their output
 * prefixed, stopped together on Ctrl-C / SIGTERM. If one exits, the others are stopped too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const services = ['gateway', 'report-service', 'payment-service', 'notification-service'] as const;
const root = fileURLToPath(new URL('..', import.meta.url));
const children = new Map<string, ChildProcess>();
let stopping = false;

for (const name of services) {
  const child = spawn(process.execPath, [`${root}/apps/${name}/src/main.js`], {
    env: process.env,
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

function stop(): void {
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Runs `body` (ES module code, in a fresh node, TypeScript sources importable) and returns every request for
 * `@nestjs/swagger` it made: imports, seen by a resolve hook, and CommonJS requires (terminus's way), seen by
 * the CommonJS loader.
 */
function swaggerRequestsOf(body: string): string[] {
  const hooks = `let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      if (specifier === 'conveyor-test:flush') {
        port.postMessage(specifier);
        return { url: 'data:text/javascript,', shortCircuit: true };
      }
      if (/^@nestjs\\/swagger(\\/|$)/.test(specifier)) port.postMessage(specifier);
      return next(specifier, context);
    }`;
  const program = `
    import Module, { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const seen = [];
    const { port1, port2 } = new MessageChannel();
    let flushed;
    const allReported = new Promise((resolve) => (flushed = resolve));
    port1.on('message', (specifier) => (specifier === 'conveyor-test:flush' ? flushed() : seen.push(specifier)));
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), {
      data: { port: port2 },
      transferList: [port2],
    });
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (/^@nestjs\\/swagger(\\/|$)/.test(request)) seen.push(request);
      return load.call(this, request, ...rest);
    };
    ${body}
    // The hooks report over one port, in order: once this import's marker is back, so is all before it.
    await import('conveyor-test:flush');
    await allReported;
    port1.close();
    process.stdout.write('SEEN ' + JSON.stringify(seen) + '\\n');`;
  const child = spawnSync(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      '@swc-node/register/esm-register',
      '--input-type=module',
      '-e',
      program,
    ],
    { cwd: root, encoding: 'utf8', timeout: 50_000 },
  );
  const line = child.stdout.split('\n').find((l) => l.startsWith('SEEN '));
  if (!line) throw new Error(`the child printed nothing to read:\n${child.stdout}\n${child.stderr}`);
  return JSON.parse(line.slice('SEEN '.length)) as string[];
}

describe('the health probes', () => {
  it("do not load @nestjs/swagger into the workers, which serve no OpenAPI document (terminus's default would)", () => {
    // Both ways in are watched: the default `@HealthCheck()` requires it, an import imports it.
    expect(
      swaggerRequestsOf(`
        const { HealthCheck } = await import('@nestjs/terminus');
        HealthCheck();`),
    ).toContain('@nestjs/swagger');
    expect(swaggerRequestsOf(`await import('@nestjs/swagger');`)).toContain('@nestjs/swagger');

    expect(
      swaggerRequestsOf(`
        await import('./apps/report-service/src/report-service.module.ts');
        await import('./apps/payment-service/src/payment-service.module.ts');
        await import('./apps/notification-service/src/notification-service.module.ts');`),
    ).toEqual([]);
  });
});

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BrokerAdmin,
  ChildService,
  createTestDatabase,
  freePort,
  randomPrefix,
  waitFor,
  type TestDatabase,
} from '#testing';

const root = fileURLToPath(new URL('../..', import.meta.url));
const services = ['gateway', 'report-service', 'payment-service', 'notification-service'] as const;
const entry = (service: string) => `${root}dist/apps/${service}/src/main.js`;

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return undefined;
  }
}

describe('each service, built and run as its own process', () => {
  const prefix = randomPrefix('boot');
  let admin: BrokerAdmin;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('boot');
    if (!existsSync(entry('gateway')))
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    admin = await BrokerAdmin.connect();
  });

  afterAll(async () => {
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  it.each(services)('%s boots, answers its probes, and exits 0 on SIGTERM', async (service) => {
    const port = await freePort();
    const child = ChildService.node([entry(service)], {
      PORT: String(port),
      CONVEYOR_PREFIX: prefix,
      DATABASE_URL: database.url,
      ORDERS_SEED_ROWS: '1000',
      LOG_LEVEL: 'warn',
    });
    try {
      await waitFor(async () => (await status(`http://127.0.0.1:${port}/health/live`)) === 200, {
        timeoutMs: 20_000,
        description: `${service} liveness`,
      });
      await waitFor(async () => (await status(`http://127.0.0.1:${port}/health/ready`)) === 200, {
        timeoutMs: 20_000,
        description: `${service} readiness`,
      });
      child.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(child.stdout).not.toMatch(/ERROR/);
    } finally {
      await child.stop();
    }
  });

  it('with MIGRATE_ONLY=true applies the migrations and exits 0 without serving (the k8s migration Job)', async () => {
    const migrating = await createTestDatabase('migrate-only');
    try {
      const child = ChildService.node([entry('gateway')], {
        MIGRATE_ONLY: 'true',
        CONVEYOR_PREFIX: prefix,
        DATABASE_URL: migrating.url,
        PORT: String(await freePort()),
      });
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(child.stdout).toMatch(/Applied gateway migration/);
      expect(child.stdout).not.toMatch(/listening on/);
    } finally {
      await migrating.drop();
    }
  });

  it('refuses to start on a bad environment, naming the variable', async () => {
    const child = ChildService.node([entry('report-service')], { PORT: 'eighty', RETRY_TIERS: '1s,later' });
    expect(await child.exited).toEqual({ code: 78, signal: null });
    expect(child.stdout).toMatch(/PORT: /);
    expect(child.stdout).toMatch(/RETRY_TIERS: /);
    expect(child.stdout).not.toMatch(/\n\s+at /);
  });
});

import { afterAll, beforeAll } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { createService } from '#bootstrap';
import { loadConfig } from '#config';
import {
  BrokerAdmin,
  createTestDatabase,
  freePort,
  randomPrefix,
  TcpProxy,
  TEST_RABBITMQ_URL,
  type TestDatabase,
} from '#testing';
import { gatewayConfigSchema } from '../src/gateway.config.js';
import { prepareGateway } from '../src/gateway.service.js';

export const TEST_API_KEYS = [
  'acme:acme-key:jobs:write+jobs:read',
  'acme:acme-read:jobs:read',
  'globex:globex-key:jobs:write+jobs:read',
  'ops:ops-key:admin',
].join(',');

export interface TestGateway {
  readonly app: INestApplication;
  readonly url: string;
  request(
    path: string,
    init?: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
}

/** The real gateway module on a free port, against the given broker prefix and database URL. */
export async function startTestGateway(env: {
  prefix: string;
  databaseUrl: string;
  /** More configuration variables, e.g. `SCHEDULE_TICK`. */
  config?: Record<string, string>;
}): Promise<TestGateway> {
  const port = await freePort();
  const config = loadConfig(gatewayConfigSchema, {
    PORT: String(port),
    CONVEYOR_PREFIX: env.prefix,
    DATABASE_URL: env.databaseUrl,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    API_KEYS: TEST_API_KEYS,
    LOG_LEVEL: 'error',
    OUTBOX_RELAY_INTERVAL: '250ms',
    RETRY_TIERS: '500ms,1s',
    ...env.config,
  });
  const app = await createService(await prepareGateway(config, { openApi: false }));
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    async request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.key) headers.authorization = `Bearer ${init.key}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body, headers: response.headers };
    },
  };
}

/**
 * For a test file: a gateway on its own prefix and database, started before its tests and stopped (queues
 * and database gone) after them, with a SQL client on that database. With `proxied`, the gateway reaches
 * Postgres through a {@link TcpProxy} the tests can cut or freeze (the SQL client goes direct). Read the
 * fields inside tests.
 */
export function useTestGateway(
  label: string,
  options: { proxied?: boolean; config?: Record<string, string> } = {},
): { readonly gateway: TestGateway; readonly sql: pg.Client; readonly proxy: TcpProxy } {
  const prefix = randomPrefix(label);
  let database: TestDatabase | undefined;
  const handles = {} as { gateway: TestGateway; sql: pg.Client; proxy: TcpProxy };
  beforeAll(async () => {
    database = await createTestDatabase(label);
    const url = new URL(database.url);
    if (options.proxied) {
      handles.proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port) });
      url.port = String(handles.proxy.port);
    }
    handles.gateway = await startTestGateway({
      prefix,
      databaseUrl: url.toString(),
      ...(options.config ? { config: options.config } : {}),
    });
    handles.sql = new pg.Client({ connectionString: database.url });
    await handles.sql.connect();
  });
  afterAll(async () => {
    const proxy = handles.proxy as TcpProxy | undefined;
    proxy?.thaw();
    await (handles.gateway as TestGateway | undefined)?.app.close();
    await (handles.sql as pg.Client | undefined)?.end();
    await proxy?.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });
  return handles;
}

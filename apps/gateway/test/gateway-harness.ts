import type { INestApplication } from '@nestjs/common';
import { createService } from '#bootstrap';
import { loadConfig } from '#config';
import { freePort, TEST_RABBITMQ_URL } from '#testing';
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

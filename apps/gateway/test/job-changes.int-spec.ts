import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import {
  BrokerAdmin,
  createTestDatabase,
  randomPrefix,
  TcpProxy,
  waitFor,
  type TestDatabase,
} from '#testing';
import { JobChanges } from '../src/events/job-changes.js';
import type { GatewayConfig } from '../src/gateway.config.js';
import { GATEWAY_CONFIG } from '../src/gateway.tokens.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

describe('job changes (what SSE streams are told) over a connection that dies without a word', () => {
  const prefix = randomPrefix('changes');
  let database: TestDatabase;
  let proxy: TcpProxy;
  let gateway: TestGateway;
  let changes: JobChanges;
  let sql: pg.Client;
  let proxiedUrl: string;
  /** The gateway's pool, for the listeners' reads; their LISTEN connections go through the proxy. */
  const fixtureDataSource = () => gateway.app.get(DataSource);
  const fixtureConfig = (): GatewayConfig => ({
    ...gateway.app.get<GatewayConfig>(GATEWAY_CONFIG),
    DATABASE_URL: proxiedUrl,
  });

  beforeAll(async () => {
    database = await createTestDatabase('changes');
    gateway = await startTestGateway({ prefix, databaseUrl: database.url });
    // A second listener whose LISTEN connection goes through a proxy; its reads use the gateway's pool.
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    proxiedUrl = viaProxy.toString();
    changes = new JobChanges(fixtureDataSource(), { ...fixtureConfig(), JOB_CHANGES_HEARTBEAT: 300 });
    changes.onApplicationBootstrap();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await changes?.beforeApplicationShutdown();
    await gateway?.app.close();
    await sql?.end();
    await proxy?.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  it('notices with its heartbeat, listens again, and reads the watched job afresh', async () => {
    // Nothing consumes this prefix's echo queue: the job stays queued, and only this test changes it.
    const { status, body } = await gateway.request('/v1/echo', { key: 'acme-key', body: { message: 'm' } });
    expect(status).toBe(202);
    const id = (body as { id: string }).id;
    const seen: number[] = [];
    changes.watch(id, (job) => seen.push(job.progress));
    await waitFor(() => Promise.resolve(changes.listening), { description: 'listening' });
    const setProgress = (progress: number) =>
      sql.query('UPDATE gateway.jobs SET progress = $2 WHERE id = $1', [id, progress]);

    await setProgress(10);
    await waitFor(() => Promise.resolve(seen.includes(10)), { description: 'the change before' });

    // The LISTEN connection now passes nothing, and no reset comes: its notifications are lost on it.
    proxy.silence();
    await setProgress(20);
    // Without the heartbeat the change never arrives (the connection looks open for as long as TCP keeps
    // quiet); with it, the dead connection is dropped within two heartbeats and the job read afresh.
    await waitFor(() => Promise.resolve(seen.includes(20)), {
      timeoutMs: 10_000,
      description: 'the change made while the connection was dead',
    });
    await setProgress(30);
    await waitFor(() => Promise.resolve(seen.includes(30)), { description: 'the change after' });
    expect(changes.listening).toBe(true);
  });

  it('stops within about a second even when its connection has gone silent', async () => {
    // A listener that would not notice the silence for a minute.
    const slow = new JobChanges(fixtureDataSource(), { ...fixtureConfig(), JOB_CHANGES_HEARTBEAT: 60_000 });
    slow.onApplicationBootstrap();
    await waitFor(() => Promise.resolve(slow.listening), { description: 'the slow listener listening' });
    proxy.silence();
    const started = performance.now();
    await slow.beforeApplicationShutdown();
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

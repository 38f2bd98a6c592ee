import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { BrokerAdmin, createTestDatabase, randomPrefix, waitFor, type TestDatabase } from '#testing';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

/** A cancel racing the outbox relay over the same job, on the real Postgres. */
describe('gateway: cancel and the relay lock a job in the same order', () => {
  const prefix = randomPrefix('cancellock');
  let database: TestDatabase;
  let gateway: TestGateway;
  let relay: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('cancellock');
    gateway = await startTestGateway({ prefix, databaseUrl: database.url });
    relay = new pg.Client({ connectionString: database.url });
    await relay.connect();
  });

  afterAll(async () => {
    await relay?.end();
    await gateway?.app.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
  });

  it('waits for a relay pass that holds the job’s outbox row, then cancels: no deadlock, no 503', async () => {
    const submitted = await gateway.request('/v1/echo', {
      key: 'acme-key',
      body: { message: 'later', runAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(submitted.status).toBe(202);
    const { id } = submitted.body as { id: string };

    // A relay pass, step by step: it has claimed the job's command and is sending it...
    await relay.query('BEGIN');
    await relay.query('SELECT id FROM gateway.outbox WHERE job_id = $1 FOR UPDATE', [id]);
    const cancelling = gateway.request(`/v1/jobs/${id}/cancel`, { key: 'acme-key', method: 'POST' });
    // The cancel waits on a lock now (before the fix: on the outbox row, holding the job's).
    await waitFor(
      async () =>
        (
          await relay.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rows[0]?.n === 1,
      { timeoutMs: 5000, intervalMs: 20, description: 'the cancel waiting on a lock' },
    );
    // ...then marks the job queued. Before: the cancel held the job's row and waited for the outbox row,
    // and Postgres broke the deadlock after a second by aborting one side.
    await relay.query(`UPDATE gateway.jobs SET status = 'queued', seq = seq + 1 WHERE id = $1`, [id]);
    await relay.query('DELETE FROM gateway.outbox WHERE job_id = $1', [id]);
    await relay.query('COMMIT');

    const cancelled = await cancelling;
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled' });
  });

  it('finds a job’s outbox rows by an index, not by reading the whole outbox', async () => {
    const { rows } = await relay.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'gateway' AND tablename = 'outbox'`,
    );
    expect(rows.map((r) => r.indexdef)).toContainEqual(expect.stringMatching(/\(job_id\)$/));
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { TEST_DATABASE_ADMIN_URL } from '#testing';
import { ensureDatabaseExists } from '../src/ensure-database.js';

describe(ensureDatabaseExists.name, () => {
  const name = `t_ensure_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_DATABASE_ADMIN_URL);
  url.pathname = `/${name}`;

  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  afterAll(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });

  it('creates a missing database once, even when several services race to do it', async () => {
    await Promise.all([1, 2, 3, 4].map(() => ensureDatabaseExists(url.toString())));
    const { rows } = await admin((c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]));
    expect(rows).toHaveLength(1);
    await expect(ensureDatabaseExists(url.toString())).resolves.toBeUndefined();
  });

  it('reports any other connection problem instead of hiding it', async () => {
    const unreachable = new URL(url);
    unreachable.port = '1';
    await expect(ensureDatabaseExists(unreachable.toString())).rejects.toThrow();
  });
});

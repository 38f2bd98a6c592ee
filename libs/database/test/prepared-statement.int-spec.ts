import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, TcpProxy, type TestDatabase } from '#testing';
import { createDataSource } from '../src/data-source.js';
import { isDatabaseUnavailable } from '../src/database-unavailable.js';
import { PreparedStatement } from '../src/prepared-statement.js';

describe('PreparedStatement against Postgres', () => {
  let db: TestDatabase;
  const twice = new PreparedStatement<{ n: number }>('conveyor.test.twice', 'SELECT $1::int * 2 AS n');

  beforeAll(async () => {
    db = await createTestDatabase('prepared');
  });

  afterAll(async () => {
    await db.drop();
  });

  const open = (url = db.url, poolSize?: number) =>
    createDataSource({
      url,
      schema: 'public',
      applicationName: 'prepared-test',
      ...(poolSize === undefined ? {} : { poolSize }),
    }).initialize();

  it('runs on every connection of the pool, prepared by name once per connection', async () => {
    const source = await open(db.url, 3);
    try {
      // More at once than the pool has connections: each one prepares it, then reuses it.
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => twice.run(source, [i])));
      expect(results.map((rows) => rows[0]?.n)).toEqual(Array.from({ length: 12 }, (_, i) => i * 2));
      const prepared = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'prepared-test'`,
      );
      expect(Number(prepared[0]?.n)).toBeLessThanOrEqual(3);
    } finally {
      await source.destroy();
    }
  });

  it('says the database is unavailable once its DataSource is closed (a 503, not a 500)', async () => {
    const source = await open();
    await source.destroy();
    const error = await twice.run(source, [1]).catch((e: unknown) => e);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('says so when Postgres stops answering: connections cut, new ones refused', async () => {
    const target = new URL(db.url);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const source = await open(url.toString());
    try {
      expect(await twice.run(source, [2])).toEqual([{ n: 4 }]);
      await proxy.cut();
      const error = await twice.run(source, [1]).catch((e: unknown) => e);
      expect(isDatabaseUnavailable(error)).toBe(true);
      await proxy.restore();
      expect(await twice.run(source, [3])).toEqual([{ n: 6 }]);
    } finally {
      await source.destroy();
      await proxy.close();
    }
  });
});

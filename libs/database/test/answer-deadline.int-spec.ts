import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PoolClient } from 'pg';
import Cursor from 'pg-cursor';
import type { DataSource } from 'typeorm';
import { createTestDatabase, TcpProxy, type TestDatabase } from '#testing';
import { createDataSource } from '../src/data-source.js';
import { isDatabaseUnavailable } from '../src/database-unavailable.js';
import { PreparedStatement } from '../src/prepared-statement.js';

describe('a Postgres that stops answering', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let source: DataSource;
  const twice = new PreparedStatement<{ n: number }>('conveyor.test.twice', 'SELECT $1::int * 2 AS n');

  beforeAll(async () => {
    db = await createTestDatabase('deadline');
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    source = await createDataSource({
      url: url.toString(),
      schema: 'public',
      applicationName: 'deadline-test',
      poolSize: 3,
      statementTimeoutMs: 1000,
      answerDeadlineMs: 1500,
    }).initialize();
  });

  afterAll(async () => {
    await source.destroy();
    await proxy.close();
    await db.drop();
  });

  it('fails every kind of query as unavailable once the deadline passes, and hands out no frozen connection after', async () => {
    // Three connections open and idle in the pool, so the queries below go out on established ones.
    await Promise.all([1, 2, 3].map(() => source.query('SELECT pg_sleep(0.05)')));
    proxy.freeze();
    const started = performance.now();
    const errors = await Promise.all([
      source.query('SELECT 1').catch((error: unknown) => error),
      twice.run(source, [1]).catch((error: unknown) => error),
      source.transaction((tx) => tx.query('SELECT 1')).catch((error: unknown) => error),
    ]);
    const waited = performance.now() - started;
    for (const error of errors) expect(isDatabaseUnavailable(error)).toBe(true);
    // Before the deadline nothing gives up; without one, these queries waited for good (see answer-deadline.ts).
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(10_000);

    proxy.thaw();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => source.query<{ n: number }[]>('SELECT $1::int AS n', [i])),
    );
    expect(answers.map((rows) => rows[0]?.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await twice.run(source, [4])).toEqual([{ n: 8 }]);
  });

  it("gives up on a cursor's read the same way: each batch is one answer", async () => {
    const runner = source.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const cursor = client.query(new Cursor<{ n: number }>('SELECT generate_series(1, 100000) AS n'));
    expect((await cursor.read(10)).map((row) => row.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    proxy.freeze();
    const started = performance.now();
    const error: unknown = await cursor.read(10).then(
      () => undefined,
      (e: unknown) => e,
    );
    const waited = performance.now() - started;
    proxy.thaw();
    await runner.release();
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(10_000);
    expect(await source.query<unknown[]>('SELECT 5 AS n')).toEqual([{ n: 5 }]);
  });

  it('lets a live server answer first: a statement past statement_timeout is cancelled, not its connection', async () => {
    const error: unknown = await source.query('SELECT pg_sleep(1.2)').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ driverError: { code: '57014' } }); // query_canceled
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(await source.query<unknown[]>('SELECT pg_sleep(0.8), 7 AS n')).toEqual([{ pg_sleep: '', n: 7 }]);
  });
});

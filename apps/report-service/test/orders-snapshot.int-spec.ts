import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource, isDatabaseUnavailable, runMigrations } from '#database';
import { createTestDatabase, waitFor, type TestDatabase } from '#testing';
import { OrdersRepository } from '../src/orders/orders.repository.js';
import { seedOrders } from '../src/orders/seed-orders.js';
import { REPORT_SCHEMA, reportDatabaseOptions } from '../src/report-database.js';

describe("orders snapshot: the cursor outlives the pool's statement timeout, a count does not", () => {
  let database: TestDatabase;
  let source: DataSource;
  let orders: OrdersRepository;

  beforeAll(async () => {
    database = await createTestDatabase('snapshot');
    // A pool with a 500 ms statement timeout stands for the real 30 s one.
    source = await createDataSource({
      ...reportDatabaseOptions(database.url),
      statementTimeoutMs: 500,
      answerDeadlineMs: 10_000,
    }).initialize();
    await runMigrations(source, REPORT_SCHEMA);
    await seedOrders(source, 40);
    orders = new OrdersRepository(source);
  });

  afterAll(async () => {
    await source?.destroy();
    await database?.drop();
  });

  it('streams rows for longer than the statement timeout', async () => {
    const started = performance.now();
    const rows = await orders.snapshot(async (snapshot) => {
      let seen = 0;
      for await (const batch of snapshot.batches(undefined, 10)) {
        seen += batch.length;
        // A slow consumer of the rows: the next batch is asked for only once Postgres itself reports the
        // cursor's statement open longer than the 500 ms statement timeout.
        if (seen === 10) {
          await waitFor(
            async () => {
              const open = await source.query<{ past: boolean }[]>(
                `SELECT clock_timestamp() - query_start > interval '600 milliseconds' AS past
                 FROM pg_stat_activity
                WHERE datname = current_database() AND query LIKE 'SELECT id, customer_id%'`,
              );
              return open[0]?.past === true;
            },
            { description: "the cursor's statement open past the statement timeout" },
          );
        }
      }
      return seen;
    });
    expect(rows).toBe(40);
    expect(performance.now() - started).toBeGreaterThan(500);
  });

  it('has a slow count cancelled by the server at the statement timeout, not taken for a silent server', async () => {
    // Each order now costs 50 ms to read: counting 40 takes 2 s.
    await source.query(`ALTER TABLE report.orders RENAME TO orders_fast`);
    await source.query(`CREATE FUNCTION report.slowly() RETURNS boolean LANGUAGE plpgsql AS
                          'BEGIN PERFORM pg_sleep(0.05); RETURN true; END'`);
    await source.query(`CREATE VIEW report.orders AS SELECT * FROM report.orders_fast WHERE report.slowly()`);
    try {
      const started = performance.now();
      const error: unknown = await orders
        .snapshot((snapshot) => snapshot.count())
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ code: '57014' }); // query_canceled: statement timeout
      expect(isDatabaseUnavailable(error)).toBe(false);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await source.query(`DROP VIEW report.orders`);
      await source.query(`DROP FUNCTION report.slowly()`);
      await source.query(`ALTER TABLE report.orders_fast RENAME TO orders`);
    }
  });
});

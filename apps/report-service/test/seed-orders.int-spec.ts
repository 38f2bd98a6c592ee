import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '#database';
import { createTestDatabase, type TestDatabase } from '#testing';
import { seedOrders } from '../src/orders/seed-orders.js';
import { REPORT_SCHEMA, reportDatabaseOptions } from '../src/report-database.js';

const ROWS = 5000;

/** One hash over every column of every order, in id order: equal hashes, equal datasets. */
const CONTENT_HASH = `
  SELECT md5(string_agg(concat_ws('|', id, customer_id, amount_minor, currency, status,
                                  extract(epoch FROM created_at)), ',' ORDER BY id)) AS hash,
         count(*)::int AS count
    FROM report.orders`;

describe(seedOrders.name, () => {
  const databases: TestDatabase[] = [];
  const dataSources: DataSource[] = [];

  async function freshDatabase(): Promise<DataSource> {
    const database = await createTestDatabase('report_seed');
    databases.push(database);
    const dataSource = await createDataSource(reportDatabaseOptions(database.url)).initialize();
    dataSources.push(dataSource);
    await runMigrations(dataSource, REPORT_SCHEMA);
    return dataSource;
  }

  async function contentOf(dataSource: DataSource, where = ''): Promise<{ hash: string; count: number }> {
    const [row] = await dataSource.query<{ hash: string; count: number }[]>(`${CONTENT_HASH} ${where}`);
    return row!;
  }

  let first: DataSource;
  let second: DataSource;

  beforeAll(async () => {
    [first, second] = await Promise.all([freshDatabase(), freshDatabase()]);
  });

  afterAll(async () => {
    await Promise.all(dataSources.map((d) => d.destroy()));
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('seeds the same orders in two databases, in one statement or in many', async () => {
    expect(await seedOrders(first, ROWS)).toBe(ROWS);
    expect(await seedOrders(second, ROWS, { chunkRows: 700 })).toBe(ROWS);

    const a = await contentOf(first);
    expect(a.count).toBe(ROWS);
    expect(await contentOf(second)).toEqual(a);
  });

  it('derives every field of order n from n alone', async () => {
    const [order] = await first.query<Record<string, unknown>[]>(
      `SELECT id, customer_id, amount_minor, currency, status, created_at
         FROM report.orders WHERE id = md5('order-1')::uuid`,
    );

    // Pinned: a change here changes every dataset already seeded somewhere.
    expect(order).toEqual({
      id: '6e7f85a9-d0fe-9b5d-fb50-4c6f2991d744',
      customer_id: 'cus_4607',
      amount_minor: '5588',
      currency: 'USD',
      status: 'refunded',
      created_at: new Date('2025-01-06T17:08:47Z'),
    });
  });

  it('adds nothing when run again with the same count, or a smaller one', async () => {
    const before = await contentOf(first);

    expect(await seedOrders(first, ROWS)).toBe(0);
    expect(await seedOrders(first, 10)).toBe(0);

    expect(await contentOf(first)).toEqual(before);
  });

  it('adds only the missing orders when the count grows, leaving the existing ones as they were', async () => {
    const before = await contentOf(first);

    expect(await seedOrders(first, ROWS + 1500)).toBe(1500);

    expect((await contentOf(first)).count).toBe(ROWS + 1500);
    const firstN = `WHERE id IN (SELECT md5('order-' || n)::uuid FROM generate_series(1, ${ROWS}) n)`;
    expect(await contentOf(first, firstN)).toEqual(before);
  });

  it('looks like real orders: 5,000 customers, weighted currencies and statuses, two years of times', async () => {
    const [shape] = await second.query<Record<string, unknown>[]>(`
      SELECT count(DISTINCT customer_id)::int AS customers,
             bool_and(customer_id ~ '^cus_[0-9]+$' AND substr(customer_id, 5)::int BETWEEN 1 AND 5000) AS customer_ids,
             min(created_at) >= '2025-01-01T00:00:00Z' AND max(created_at) < '2027-01-01T00:00:00Z' AS in_period,
             bool_and(date_trunc('second', created_at) = created_at) AS whole_seconds,
             bool_and(currency = 'JPY' OR amount_minor BETWEEN 100 AND 200000) AS major_amounts,
             bool_and(currency <> 'JPY' OR amount_minor BETWEEN 150 AND 300000) AS yen_amounts,
             percentile_disc(0.5) WITHIN GROUP (ORDER BY amount_minor) FILTER (WHERE currency <> 'JPY') AS median_cents
        FROM report.orders`);
    expect(shape).toMatchObject({
      customers: expect.any(Number),
      customer_ids: true,
      in_period: true,
      whole_seconds: true,
      major_amounts: true,
      yen_amounts: true,
    });
    expect(shape!.customers).toBeGreaterThan(3000);
    // A long tail: the median order is small next to the largest.
    expect(Number(shape!.median_cents)).toBeLessThan(10_000);

    const shares = async (column: string) =>
      Object.fromEntries(
        (
          await second.query<{ value: string; share: number }[]>(
            `SELECT ${column} AS value, count(*)::float / ${ROWS} AS share FROM report.orders GROUP BY 1`,
          )
        ).map((r) => [r.value, r.share]),
      );
    const statuses = await shares('status');
    expect(statuses.paid).toBeGreaterThan(statuses.pending!);
    expect(statuses.pending).toBeGreaterThan(statuses.refunded!);
    expect(statuses.refunded).toBeGreaterThan(statuses.cancelled!);
    expect(statuses.cancelled).toBeGreaterThan(0);
    expect(Object.keys(await shares('currency')).sort()).toEqual(['EUR', 'GBP', 'JPY', 'USD']);
  });
});

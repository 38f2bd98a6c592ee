import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** Distinct customers, `cus_1` … `cus_5000`. */
export const SEED_CUSTOMERS = 5000;
/** Orders are spread over 2025-01-01T00:00:00Z … 2026-12-31T23:59:59Z, to the second. */
export const SEED_PERIOD = { from: '2025-01-01T00:00:00Z', seconds: 730 * 86_400 } as const;

/**
 * Order n (1-based) derived from n alone: the id is `md5('order-' || n)`, every other field comes from
 * another md5 of n cut into four unsigned 32-bit numbers. Integer arithmetic only, so the dataset is the
 * same on every machine and Postgres version. Weights: currency EUR 40 % / USD 35 % / GBP 15 % / JPY 10 %;
 * status paid 70 % / pending 15 % / refunded 10 % / cancelled 5 %; amount 1.00–60.00 (60 %), –250.00
 * (30 %), –800.00 (8 %), –2,000.00 (2 %), JPY at 150 yen per unit and no minor digits.
 */
const INSERT_ORDERS = `
  INSERT INTO report.orders (id, customer_id, amount_minor, currency, status, created_at)
  SELECT md5('order-' || n)::uuid,
         'cus_' || (1 + h.customer % ${SEED_CUSTOMERS}),
         CASE WHEN h.currency = 'JPY' THEN h.cents * 3 / 2 ELSE h.cents END,
         h.currency,
         h.status,
         timestamptz '${SEED_PERIOD.from}' + (h.second % ${SEED_PERIOD.seconds}) * interval '1 second'
    FROM generate_series($1::int, $2::int) AS n
   CROSS JOIN LATERAL (
     SELECT customer, second,
            CASE WHEN amount % 100 < 60 THEN 100 + amount / 100 % 5901
                 WHEN amount % 100 < 90 THEN 6000 + amount / 100 % 19001
                 WHEN amount % 100 < 98 THEN 25000 + amount / 100 % 55001
                 ELSE 80000 + amount / 100 % 120001 END AS cents,
            CASE WHEN pick % 100 < 40 THEN 'EUR' WHEN pick % 100 < 75 THEN 'USD'
                 WHEN pick % 100 < 90 THEN 'GBP' ELSE 'JPY' END AS currency,
            CASE WHEN pick / 100 % 100 < 70 THEN 'paid' WHEN pick / 100 % 100 < 85 THEN 'pending'
                 WHEN pick / 100 % 100 < 95 THEN 'refunded' ELSE 'cancelled' END AS status
       FROM (SELECT ('x' || substr(d, 1, 8))::bit(32)::bigint AS customer,
                    ('x' || substr(d, 9, 8))::bit(32)::bigint AS amount,
                    ('x' || substr(d, 17, 8))::bit(32)::bigint AS pick,
                    ('x' || substr(d, 25, 8))::bit(32)::bigint AS second
               FROM md5('order-fields-' || n) AS d) AS parts
   ) AS h
   -- In created_at order, two of the three indexes are appended to instead of written at random (~1/3 faster).
   ORDER BY 6
  ON CONFLICT (id) DO NOTHING`;

/**
 * Orders inserted per statement. Each statement must answer within the pool's answer deadline (the statement
 * timeout, 30 s, plus 5 s): one statement for a seed of millions ran past it, its connection was dropped and
 * the service could never start. 200,000 take a few seconds here.
 */
const SEED_CHUNK_ROWS = 200_000;

/**
 * Seeds `report.orders` up to `rows` orders: deterministic, and idempotent (a second run, or a run with a
 * larger count, adds only what is missing; a table that already has enough is left alone). Replicas
 * starting together serialize on an advisory lock. One transaction, `chunkRows` orders per statement.
 * Returns the number of orders added.
 */
export async function seedOrders(
  dataSource: DataSource,
  rows: number,
  { chunkRows = SEED_CHUNK_ROWS }: { chunkRows?: number } = {},
): Promise<number> {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a whole number, got ${rows}`);
  const logger = new Logger('SeedOrders');
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    try {
      // Asked for, not waited on: a statement waiting on another replica's long seed would outlast the
      // statement timeout and keep this replica from starting.
      const tryLock = async () =>
        (
          (await runner.query(
            `SELECT pg_try_advisory_xact_lock(hashtext('conveyor-seed:report.orders')) AS locked`,
          )) as [{ locked: boolean }]
        )[0].locked;
      while (!(await tryLock())) await sleep(500);
      const [{ count }] = (await runner.query(`SELECT count(*)::int AS count FROM report.orders`)) as [
        { count: number },
      ];
      if (count >= rows) {
        await runner.commitTransaction();
        return 0;
      }
      const started = Date.now();
      let added = 0;
      for (let from = 1; from <= rows; from += chunkRows) {
        const result = await runner.query(INSERT_ORDERS, [from, Math.min(rows, from + chunkRows - 1)], true);
        added += result.affected ?? 0;
      }
      await runner.commitTransaction();
      logger.log(`Seeded ${added} orders (now ${count + added}) in ${Date.now() - started} ms`);
      return added;
    } catch (error) {
      await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  } finally {
    await runner.release();
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import Cursor from 'pg-cursor';
import { DataSource } from 'typeorm';
import type { OrderRow } from './order.js';
import type { OrderTotal } from './order-total.js';
import { orderFilterSql, type OrderFilters } from './order-filter.js';

/** Reads of `report.orders` that see one consistent state of the table, on one connection. */
export interface OrdersSnapshot {
  count(filters?: OrderFilters): Promise<number>;
  /** Orders and the sum of their amounts per currency, by currency code. */
  totals(filters?: OrderFilters): Promise<OrderTotal[]>;
  /** The filtered orders by `created_at`, then `id`, `batchSize` at a time through a server-side cursor. */
  batches(filters: OrderFilters | undefined, batchSize: number): AsyncGenerator<OrderRow[]>;
  /**
   * Takes the transaction-scoped advisory lock `key` if nobody holds it (false otherwise); it is released
   * when the snapshot ends.
   */
  tryLock(key: string): Promise<boolean>;
}

const SELECT_ORDERS = 'SELECT id, customer_id, amount_minor, currency, status, created_at FROM report.orders';

@Injectable()
export class OrdersRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Runs `work` in a read-only repeatable-read transaction, so a count and the rows streamed after it agree
   * even while the seed adds orders.
   */
  async snapshot<T>(work: (orders: OrdersSnapshot) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const client = asPgClient(await runner.connect());
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work(new PgOrdersSnapshot(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}

class PgOrdersSnapshot implements OrdersSnapshot {
  constructor(private readonly client: PoolClient) {}

  async count(filters?: OrderFilters): Promise<number> {
    const { where, params } = orderFilterSql(filters);
    const { rows } = await this.client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM report.orders ${where}`,
      params,
    );
    return rows[0]?.count ?? 0;
  }

  async totals(filters?: OrderFilters): Promise<OrderTotal[]> {
    const { where, params } = orderFilterSql(filters);
    const { rows } = await this.client.query<OrderTotal>(
      `SELECT currency, count(*)::int AS orders, sum(amount_minor)::text AS "amountMinor"
         FROM report.orders ${where} GROUP BY currency ORDER BY currency`,
      params,
    );
    return rows;
  }

  async *batches(filters: OrderFilters | undefined, batchSize: number): AsyncGenerator<OrderRow[]> {
    const { where, params } = orderFilterSql(filters);
    // A cursor's portal stays open between fetches and Postgres counts its whole life as one statement;
    // the pool's 30 s statement timeout would cut long reports short. Stay under RabbitMQ's 30 min
    // consumer_timeout instead, for the cursor only: a count or totals past 30 s is still cancelled by the
    // server, with its own error, before the pool's answer deadline (answer-deadline.ts) would take it for
    // a silent server. Each batch of rows is one answer, and that deadline applies to it.
    await this.client.query(`SET LOCAL statement_timeout = '25min'`);
    const cursor = this.client.query(
      new Cursor<OrderRow>(`${SELECT_ORDERS} ${where} ORDER BY created_at, id`, params),
    );
    try {
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (rows.length > 0) yield rows;
        if (rows.length < batchSize) return;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async tryLock(key: string): Promise<boolean> {
    const { rows } = await this.client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
      [key],
    );
    return rows[0]?.locked === true;
  }
}

/** TypeORM's postgres QueryRunner hands out the pool's `pg` client, typed as `any`. */
function asPgClient(connection: unknown): PoolClient {
  if (
    typeof connection === 'object' &&
    connection !== null &&
    'query' in connection &&
    typeof connection.query === 'function'
  ) {
    return connection as PoolClient;
  }
  throw new TypeError('The DataSource did not hand out a node-postgres client');
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The demo dataset reports are rendered from (seeded at start, see `seedOrders`). */
export class CreateOrders1795219300000 implements MigrationInterface {
  readonly name = 'CreateOrders1795219300000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE report.orders (
        id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        amount_minor bigint NOT NULL,
        currency char(3) NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'paid', 'refunded', 'cancelled')),
        created_at timestamptz NOT NULL
      )`);
    // Reports read in (created_at, id) order, optionally for one status: both are index range scans.
    await runner.query(`CREATE INDEX orders_created_at_id ON report.orders (created_at, id)`);
    await runner.query(`CREATE INDEX orders_status_created_at_id ON report.orders (status, created_at, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE report.orders`);
  }
}

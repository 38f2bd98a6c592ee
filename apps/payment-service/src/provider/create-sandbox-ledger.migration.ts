import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sandbox provider's own storage, in its own schema: what a real provider keeps on its side. One row
 * per idempotency key; `attempts` counts charge calls for that key, `charge_id` is set once it captured.
 */
export class CreateSandboxLedger1795300000001 implements MigrationInterface {
  readonly name = 'CreateSandboxLedger1795300000001';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS payment_sandbox`);
    await runner.query(`
      CREATE TABLE payment_sandbox.charges (
        idempotency_key text PRIMARY KEY,
        charge_id text UNIQUE,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'captured', 'declined')),
        amount bigint NOT NULL,
        currency char(3) NOT NULL,
        customer_id text NOT NULL,
        attempts int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP SCHEMA payment_sandbox CASCADE`);
  }
}

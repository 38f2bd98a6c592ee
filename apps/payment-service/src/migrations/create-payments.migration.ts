import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `payments`: one row per payment job, written `pending` and committed before the provider is called, so
 * its id (the provider's idempotency key) survives a crash. `inbox`: the charge of that job was processed
 * and this is what it produced; written in the same transaction as the payment's final status.
 */
export class CreatePayments1795300000000 implements MigrationInterface {
  readonly name = 'CreatePayments1795300000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE payment.payments (
        id uuid PRIMARY KEY,
        job_id uuid NOT NULL UNIQUE,
        tenant text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        customer_id text NOT NULL,
        description text,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'captured', 'declined')),
        provider_charge_id text,
        error jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'captured') = (provider_charge_id IS NOT NULL))
      )`);
    await runner.query(`
      CREATE TABLE payment.inbox (
        job_id uuid PRIMARY KEY,
        message_id text,
        outcome jsonb NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE payment.inbox`);
    await runner.query(`DROP TABLE payment.payments`);
  }
}

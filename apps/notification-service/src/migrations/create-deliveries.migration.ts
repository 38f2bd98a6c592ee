import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `deliveries`: one row per notification sent or being sent, keyed by what makes it unique (the job for
 * `notification.send`, job and channel for a completion notice). Written `pending` before anything goes
 * out; `claimed_until` marks a delivery under way, so a duplicate of the message waits instead of sending
 * a second copy. `target` is the address or URL (never a secret: signing secrets are not stored here).
 */
export class CreateDeliveries1795400000000 implements MigrationInterface {
  readonly name = 'CreateDeliveries1795400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE notification.deliveries (
        id uuid PRIMARY KEY,
        dedupe_key text NOT NULL UNIQUE,
        job_id uuid NOT NULL,
        tenant text,
        channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
        target text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        claimed_until timestamptz,
        response_status int,
        response_excerpt text CHECK (char_length(response_excerpt) <= 200),
        error jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CHECK ((status = 'sent') = (sent_at IS NOT NULL))
      )`);
    await runner.query(`CREATE INDEX deliveries_job_id ON notification.deliveries (job_id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE notification.deliveries`);
  }
}

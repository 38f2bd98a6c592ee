import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox rows get the moment they are due: `runAt` for a delayed job, else a short grace after the
 * commit (the fast path publishes before that). The relay reads due rows by this one index, so any
 * number of jobs waiting for later never slow it down.
 */
export class OutboxDueAt1763900000000 implements MigrationInterface {
  name = 'OutboxDueAt1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE gateway.outbox ADD COLUMN due_at timestamptz`);
    await db.query(`UPDATE gateway.outbox SET due_at = created_at + interval '2 seconds'`);
    await db.query(`ALTER TABLE gateway.outbox ALTER COLUMN due_at SET NOT NULL`);
    await db.query(`ALTER TABLE gateway.outbox ALTER COLUMN due_at SET DEFAULT now()`);
    await db.query(`CREATE INDEX outbox_due ON gateway.outbox (due_at)`);
    await db.query(`DROP INDEX gateway.outbox_created`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX outbox_created ON gateway.outbox (created_at)`);
    await db.query(`DROP INDEX gateway.outbox_due`);
    await db.query(`ALTER TABLE gateway.outbox DROP COLUMN due_at`);
  }
}

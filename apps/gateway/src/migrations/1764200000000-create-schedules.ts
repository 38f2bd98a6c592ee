import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recurring schedules. The dispatcher claims due rows by `schedules_due` with FOR UPDATE SKIP LOCKED and
 * advances `next_run_at` in the same transaction that inserts the run's job, so any number of gateway
 * replicas create one job per due time. A deleted schedule keeps its row (`deleted_at`): its jobs still
 * name it.
 *
 * Jobs get `scheduled_for`, the due time a scheduled job was created for, unique per schedule: a guard
 * under the claim, so no bug or clock trick can make a second job for the same run. Both columns are
 * written once at insert, so lifecycle updates stay heap-only (HOT).
 */
export class CreateSchedules1764200000000 implements MigrationInterface {
  name = 'CreateSchedules1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gateway.schedules (
        id          uuid PRIMARY KEY,
        tenant      text        NOT NULL,
        cron        text        NOT NULL,
        timezone    text        NOT NULL,
        kind        text        NOT NULL CHECK (kind IN ('report', 'payment', 'notification', 'echo')),
        body        jsonb       NOT NULL,
        next_run_at timestamptz NOT NULL,
        last_run_at timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        deleted_at  timestamptz
      )`);
    await db.query(`CREATE INDEX schedules_due ON gateway.schedules (next_run_at) WHERE deleted_at IS NULL`);
    await db.query(
      `CREATE INDEX schedules_tenant_created ON gateway.schedules (tenant, created_at DESC, id DESC)
        WHERE deleted_at IS NULL`,
    );
    await db.query(
      `CREATE INDEX schedules_created ON gateway.schedules (created_at DESC, id DESC) WHERE deleted_at IS NULL`,
    );
    await db.query(`ALTER TABLE gateway.jobs ADD COLUMN scheduled_for timestamptz`);
    await db.query(
      `CREATE UNIQUE INDEX jobs_schedule_run ON gateway.jobs (schedule_id, scheduled_for)
        WHERE schedule_id IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX gateway.jobs_schedule_run`);
    await db.query(`ALTER TABLE gateway.jobs DROP COLUMN scheduled_for`);
    await db.query(`DROP TABLE gateway.schedules`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index on `gateway.outbox (job_id)`: a cancel locks the job's outbox rows before its row (the relay's
 * lock order) and deletes those of a job that has not started. Delayed jobs and schedules keep their
 * commands there until due, so without it each cancel read the whole table.
 */
export class OutboxJobIndex1764800000000 implements MigrationInterface {
  name = 'OutboxJobIndex1764800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX IF NOT EXISTS outbox_job_id ON gateway.outbox (job_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS gateway.outbox_job_id`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `gateway.jobs.replays`: how many times the job has been replayed from its dead letter. Each replay's
 * command carries it (`replay-count`), and so does a cancel (`replays`): a worker then stops the runs the
 * cancel was asked for, never a replay made after it, without comparing clocks. Jobs from before count 0;
 * their next replay starts from the count their dead letter carries.
 */
export class JobReplays1764700000000 implements MigrationInterface {
  name = 'JobReplays1764700000000';

  async up(db: QueryRunner): Promise<void> {
    // A constant default: no table rewrite, whatever the table's size.
    await db.query(`ALTER TABLE gateway.jobs ADD COLUMN replays integer NOT NULL DEFAULT 0`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE gateway.jobs DROP COLUMN replays`);
  }
}

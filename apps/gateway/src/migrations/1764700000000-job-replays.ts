import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `gateway.jobs.replays`: how many times the job has been replayed from its dead letter. Each replay's
 * command carries it (`replay-count`), and so does a cancel (`replays`): a worker then stops the runs the
 * cancel was asked for, never a replay made after it, without comparing clocks. Lifecycle events carry it
 * too (`run`), and one of an earlier run changes nothing.
 *
 * Jobs replayed before this migration start from what their dead letters say: the highest `replay-count`
 * among them, plus one if that letter was replayed. A cancel of such a job then still stops its replay.
 */
export class JobReplays1764700000000 implements MigrationInterface {
  name = 'JobReplays1764700000000';

  async up(db: QueryRunner): Promise<void> {
    // A constant default: no table rewrite, whatever the table's size.
    await db.query(`ALTER TABLE gateway.jobs ADD COLUMN replays integer NOT NULL DEFAULT 0`);
    await db.query(`
      UPDATE gateway.jobs j SET replays = r.replays
        FROM (SELECT job_id,
                     max(LEAST(CASE WHEN headers->>'replay-count' ~ '^[0-9]{1,9}$'
                                    THEN (headers->>'replay-count')::int ELSE 0 END
                               + CASE WHEN replayed_at IS NULL THEN 0 ELSE 1 END, 2147483647)) AS replays
                FROM gateway.dead_letters WHERE job_id IS NOT NULL GROUP BY job_id) r
       WHERE j.id = r.job_id AND r.replays > 0`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE gateway.jobs DROP COLUMN replays`);
  }
}

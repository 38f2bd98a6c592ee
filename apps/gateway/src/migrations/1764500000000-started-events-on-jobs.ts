import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The `started` events a job has counted, as ids on its own row instead of rows of `gateway.job_attempts`:
 * each start then writes one row version (the job's, which it changes anyway) instead of also a row, two
 * index entries and a foreign-key lock. The ids are all that table was read for (counting each delivery
 * once, job-transitions.ts). Jobs keep the ids they had, so a late duplicate of an old event still counts
 * nothing.
 */
export class StartedEventsOnJobs1764500000000 implements MigrationInterface {
  name = 'StartedEventsOnJobs1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE gateway.jobs ADD COLUMN started_events uuid[] NOT NULL DEFAULT '{}'`);
    await db.query(
      `UPDATE gateway.jobs j SET started_events = a.events
         FROM (SELECT job_id, array_agg(event_id ORDER BY started_at) AS events
                 FROM gateway.job_attempts GROUP BY job_id) a
        WHERE j.id = a.job_id`,
    );
    await db.query(`DROP TABLE gateway.job_attempts`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gateway.job_attempts (
        event_id   uuid PRIMARY KEY,
        job_id     uuid        NOT NULL REFERENCES gateway.jobs (id) ON DELETE CASCADE,
        attempt    integer     NOT NULL,
        started_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX job_attempts_job ON gateway.job_attempts (job_id)`);
    // Which attempt each start was, and when, was not kept: the n-th id is attempt n, at the job's start.
    await db.query(
      `INSERT INTO gateway.job_attempts (event_id, job_id, attempt, started_at)
       SELECT e.id, j.id, e.n, coalesce(j.started_at, j.created_at)
         FROM gateway.jobs j, unnest(j.started_events) WITH ORDINALITY AS e (id, n)`,
    );
    await db.query(`ALTER TABLE gateway.jobs DROP COLUMN started_events`);
  }
}

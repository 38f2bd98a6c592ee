import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every UPDATE of `gateway.jobs` tells listeners which jobs changed (`NOTIFY conveyor_job_changes`,
 * comma-separated ids, 200 per notification to stay under Postgres' 8 kB payload limit). Notifications are
 * sent at commit, so a listener that reads the rows then sees the change: this is how every gateway replica
 * learns about changes made by any other one (lifecycle events, cancels, replays) for its SSE streams.
 * One statement-level trigger per UPDATE, not per row: a batched lifecycle update of 1,000 jobs costs five
 * notifications.
 */
export class JobChangeNotifications1764000000000 implements MigrationInterface {
  name = 'JobChangeNotifications1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION gateway.notify_job_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        chunk text;
      BEGIN
        FOR chunk IN
          SELECT string_agg(id::text, ',') FROM (
            SELECT id, (row_number() OVER ()) / 200 AS part FROM changed
          ) numbered GROUP BY part
        LOOP
          PERFORM pg_notify('conveyor_job_changes', chunk);
        END LOOP;
        RETURN NULL;
      END $$`);
    await db.query(`
      CREATE TRIGGER jobs_changed AFTER UPDATE ON gateway.jobs
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION gateway.notify_job_changes()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER jobs_changed ON gateway.jobs`);
    await db.query(`DROP FUNCTION gateway.notify_job_changes()`);
  }
}

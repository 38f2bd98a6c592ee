import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `gateway.before_deadline(deadline)`: true before `deadline`, an error (SQLSTATE 57014, as a cancelled
 * statement) from then on. The submissions' INSERT calls it once, with the time the gateway stops waiting
 * for its answer less the 5 s the answer deadline adds: a statement that reaches a Postgres that was
 * frozen (it sat in the server's socket while the client answered 503 and let go) then inserts nothing,
 * instead of creating jobs whose submitters were told they were not accepted.
 */
export class SubmissionDeadline1764600000000 implements MigrationInterface {
  name = 'SubmissionDeadline1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION gateway.before_deadline(deadline timestamptz) RETURNS boolean
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        IF clock_timestamp() >= deadline THEN
          RAISE EXCEPTION 'statement reached Postgres after its deadline (%): its client has given up', deadline
            USING ERRCODE = 'query_canceled';
        END IF;
        RETURN true;
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION gateway.before_deadline(timestamptz)`);
  }
}

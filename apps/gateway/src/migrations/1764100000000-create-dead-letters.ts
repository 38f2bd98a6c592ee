import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dead-letter archive: every message a work queue gave up on, stored once per message id, with what
 * replaying it needs (type, payload, headers) and its audit trail (who replayed or discarded it, when, and
 * the payload edit if any). Listed newest first by (dead_at, id).
 */
export class CreateDeadLetters1764100000000 implements MigrationInterface {
  name = 'CreateDeadLetters1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gateway.dead_letters (
        id             uuid PRIMARY KEY,
        message_id     text NOT NULL UNIQUE,
        job_id         uuid,
        tenant         text,
        queue          text NOT NULL,
        routing_key    text NOT NULL,
        payload        jsonb,
        raw_body       text,
        headers        jsonb NOT NULL,
        error          jsonb NOT NULL,
        attempts       integer NOT NULL,
        dead_reason    text,
        dead_at        timestamptz NOT NULL,
        replayed_at    timestamptz,
        replayed_by    text,
        replay_payload jsonb,
        discarded_at   timestamptz,
        discarded_by   text
      )`);
    await db.query(
      `CREATE INDEX dead_letters_listing ON gateway.dead_letters (dead_at DESC, id DESC) WHERE discarded_at IS NULL`,
    );
    await db.query(`CREATE INDEX dead_letters_job ON gateway.dead_letters (job_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE gateway.dead_letters`);
  }
}

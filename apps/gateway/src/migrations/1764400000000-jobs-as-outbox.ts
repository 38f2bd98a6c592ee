import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job that runs now is its own outbox record: `dispatched` is false until its command is known to be
 * with the broker, and the relay republishes an undispatched job still waiting in its first version
 * (`seq = 1`: nothing has happened to it) after a grace. Jobs that existed before, and delayed jobs (whose
 * command waits in `gateway.outbox`), are `dispatched` from the start. `traceparent` keeps the submitter's
 * trace for a relayed command.
 */
export class JobsAsOutbox1764400000000 implements MigrationInterface {
  name = 'JobsAsOutbox1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE gateway.jobs ADD COLUMN dispatched boolean NOT NULL DEFAULT true, ADD COLUMN traceparent text`,
    );
    await db.query(
      `CREATE INDEX jobs_undispatched ON gateway.jobs (created_at) WHERE status = 'queued' AND seq = 1 AND NOT dispatched`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    // Whatever is still undispatched goes back to the outbox, so nothing committed is lost.
    await db.query(
      `INSERT INTO gateway.outbox (id, job_id, message_type, payload, meta, created_at, due_at)
       SELECT id, id, kind || CASE kind WHEN 'report' THEN '.generate' WHEN 'payment' THEN '.charge'
                                        WHEN 'notification' THEN '.send' ELSE '.run' END,
              input - 'runAt' - 'notify',
              jsonb_strip_nulls(jsonb_build_object('tenant', tenant, 'maxAttempts', max_attempts,
                                                   'traceparent', traceparent, 'notify', input -> 'notify')),
              created_at, now()
         FROM gateway.jobs WHERE status = 'queued' AND seq = 1 AND NOT dispatched`,
    );
    await db.query(`DROP INDEX gateway.jobs_undispatched`);
    await db.query(`ALTER TABLE gateway.jobs DROP COLUMN dispatched, DROP COLUMN traceparent`);
  }
}

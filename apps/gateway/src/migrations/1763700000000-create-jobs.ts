import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateJobs1763700000000 implements MigrationInterface {
  name = 'CreateJobs1763700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gateway.jobs (
        id               uuid PRIMARY KEY,
        tenant           text        NOT NULL,
        kind             text        NOT NULL CHECK (kind IN ('report', 'payment', 'notification', 'echo')),
        status           text        NOT NULL CHECK (status IN ('queued', 'scheduled', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
        progress         smallint    NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        attempts         integer     NOT NULL DEFAULT 0,
        last_attempt     integer     NOT NULL DEFAULT 0,
        max_attempts     integer     NOT NULL,
        input            jsonb       NOT NULL,
        result           jsonb,
        error            jsonb,
        cancel_requested boolean     NOT NULL DEFAULT false,
        run_at           timestamptz,
        schedule_id      uuid,
        seq              bigint      NOT NULL DEFAULT 1,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        started_at       timestamptz,
        finished_at      timestamptz
      ) WITH (fillfactor = 80)`);
    // Status, progress, attempts and finished_at are in no index here, and pages keep room (fillfactor), so
    // as this migration leaves the table the lifecycle UPDATEs are heap-only (HOT). Later partial indexes
    // name status in their predicates (1764300000000, 1764400000000), which ends that: see the first.
    await db.query(`CREATE INDEX jobs_tenant_created ON gateway.jobs (tenant, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX jobs_created ON gateway.jobs (created_at DESC, id DESC)`);

    // One row per job.started event seen: attempts count deliveries exactly once, even if an event is
    // delivered to us twice.
    await db.query(`
      CREATE TABLE gateway.job_attempts (
        event_id   uuid PRIMARY KEY,
        job_id     uuid        NOT NULL REFERENCES gateway.jobs (id) ON DELETE CASCADE,
        attempt    integer     NOT NULL,
        started_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX job_attempts_job ON gateway.job_attempts (job_id)`);

    // Commands not yet confirmed by the broker. A row is deleted once its publish is confirmed, so the
    // table holds only what is in flight or left behind, and the relay scans almost nothing.
    await db.query(`
      CREATE TABLE gateway.outbox (
        id           uuid PRIMARY KEY,
        job_id       uuid        NOT NULL,
        message_type text        NOT NULL,
        payload      jsonb       NOT NULL,
        meta         jsonb       NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX outbox_created ON gateway.outbox (created_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE gateway.outbox`);
    await db.query(`DROP TABLE gateway.job_attempts`);
    await db.query(`DROP TABLE gateway.jobs`);
  }
}

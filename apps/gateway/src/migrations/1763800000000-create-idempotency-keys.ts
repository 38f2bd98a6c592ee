import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateIdempotencyKeys1763800000000 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1763800000000';

  async up(db: QueryRunner): Promise<void> {
    // One row per (tenant, route, Idempotency-Key): the request it stood for and the job it created.
    await db.query(`
      CREATE TABLE gateway.idempotency_keys (
        tenant       text        NOT NULL,
        route        text        NOT NULL,
        key          text        NOT NULL,
        request_hash text        NOT NULL,
        job_id       uuid        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, route, key)
      )`);
    await db.query(`CREATE INDEX idempotency_keys_created ON gateway.idempotency_keys (created_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE gateway.idempotency_keys`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The artifact store's tables. It runs in the migrations of whichever app writes artifacts (report-service
 * today); every statement is idempotent and serialized on an advisory lock, so another app that also lists
 * it (its migrations table lives in its own schema) finds the objects in place instead of failing.
 */
export class CreateArtifacts1795219200000 implements MigrationInterface {
  readonly name = 'CreateArtifacts1795219200000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`SELECT pg_advisory_xact_lock(hashtext('conveyor-migrations:artifacts'))`);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS artifacts`);
    await runner.query(`
      CREATE TABLE IF NOT EXISTS artifacts.artifacts (
        id uuid PRIMARY KEY,
        job_id uuid NOT NULL,
        tenant text NOT NULL,
        content_type text NOT NULL,
        filename text NOT NULL,
        bytes bigint NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'writing' CHECK (status IN ('writing', 'complete')),
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        expires_at timestamptz NOT NULL
      )`);
    // At most one complete artifact per job: a redelivered job finds it instead of writing a second.
    await runner.query(`
      CREATE UNIQUE INDEX IF NOT EXISTS artifacts_one_complete_per_job
        ON artifacts.artifacts (job_id) WHERE status = 'complete'`);
    await runner.query(`CREATE INDEX IF NOT EXISTS artifacts_job_id ON artifacts.artifacts (job_id)`);
    await runner.query(`CREATE INDEX IF NOT EXISTS artifacts_expires_at ON artifacts.artifacts (expires_at)`);
    await runner.query(`
      CREATE TABLE IF NOT EXISTS artifacts.artifact_chunks (
        artifact_id uuid NOT NULL REFERENCES artifacts.artifacts (id) ON DELETE CASCADE,
        seq int NOT NULL CHECK (seq >= 0),
        data bytea NOT NULL,
        PRIMARY KEY (artifact_id, seq)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS artifacts.artifact_chunks`);
    await runner.query(`DROP TABLE IF EXISTS artifacts.artifacts`);
  }
}

/** Add to the `migrations` of any DataSource that writes artifacts. */
export const ArtifactsMigrations = [CreateArtifacts1795219200000];

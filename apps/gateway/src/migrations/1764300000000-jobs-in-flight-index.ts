import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Jobs in flight per tenant, counted every second for the in-flight cap: only the live rows are indexed.
 *
 * Its predicate names `status`, so Postgres counts `status` as indexed, and no UPDATE that changes it is
 * heap-only any more (measured in the light bench: `n_tup_hot_upd` 0 of 22,862). That was accepted: any
 * index that finds in-flight jobs must change when a job leaves that state, and a fast job's one lifecycle
 * UPDATE is exactly that change.
 */
export class JobsInFlightIndex1764300000000 implements MigrationInterface {
  name = 'JobsInFlightIndex1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX jobs_in_flight ON gateway.jobs (tenant) WHERE status IN ('queued', 'running', 'retrying')`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX gateway.jobs_in_flight`);
  }
}

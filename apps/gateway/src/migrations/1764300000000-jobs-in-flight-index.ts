import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Jobs in flight per tenant, counted every second for the in-flight cap: only the live rows are indexed. */
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

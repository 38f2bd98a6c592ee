import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/**
 * Creates the app's schema and runs its pending migrations, one process at a time: replicas starting
 * together (or a migration Job racing a rollout) serialize on an advisory lock named after the schema.
 */
export async function runMigrations(dataSource: DataSource, schema: string): Promise<string[]> {
  const logger = new Logger('Migrations');
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [`conveyor-migrations:${schema}`]);
    try {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      for (const m of applied) logger.log(`Applied ${schema} migration ${m.name}`);
      return applied.map((m) => m.name);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`conveyor-migrations:${schema}`]);
    }
  } finally {
    await runner.release();
  }
}

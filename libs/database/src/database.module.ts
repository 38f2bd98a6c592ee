import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createDataSource, type DatabaseOptions } from './data-source.js';
import { ensureDatabaseExists } from './ensure-database.js';

/**
 * The app's DataSource for Nest (`@InjectDataSource()`, `@InjectRepository(Entity)`), built by
 * {@link createDataSource} (with the service's `DATABASE_STATEMENT_TIMEOUT`) and destroyed on shutdown.
 * Migrations are not run here but before the app is created (`runMigrations`), so that a pending migration
 * never races live traffic.
 */
export function databaseModule(
  options: DatabaseOptions,
  config: { readonly DATABASE_STATEMENT_TIMEOUT: number },
): DynamicModule {
  return TypeOrmModule.forRootAsync({
    useFactory: () => ({ retryAttempts: 5, retryDelay: 1000 }),
    dataSourceFactory: async () =>
      createDataSource({ ...options, statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT }).initialize(),
  });
}

/**
 * Runs `work` with a short-lived DataSource (migrations and seeds before boot, scripts), creating the
 * database first if the server does not have it.
 */
export async function withDataSource<T>(
  options: DatabaseOptions,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  await ensureDatabaseExists(options.url);
  const dataSource = await createDataSource({ ...options, poolSize: 2 }).initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

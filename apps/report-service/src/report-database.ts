import { ArtifactsMigrations } from '#artifacts';
import { runMigrations, withDataSource, type DatabaseOptions } from '#database';
import { CreateOrders1795219300000 } from './migrations/create-orders.migration.js';
import { seedOrders } from './orders/seed-orders.js';

export const REPORT_SCHEMA = 'report';

/** report-service's DataSource: its `report` schema, plus the artifact store it writes into. */
export function reportDatabaseOptions(url: string): DatabaseOptions {
  return {
    url,
    schema: REPORT_SCHEMA,
    migrations: [...ArtifactsMigrations, CreateOrders1795219300000],
    applicationName: 'report-service',
  };
}

/** Before the service starts: apply pending migrations, then seed the orders up to `seedRows`. */
export async function prepareReportDatabase(url: string, seedRows: number): Promise<void> {
  await withDataSource(reportDatabaseOptions(url), async (dataSource) => {
    await runMigrations(dataSource, REPORT_SCHEMA);
    await seedOrders(dataSource, seedRows);
  });
}

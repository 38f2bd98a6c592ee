import { runMigrations, withDataSource, type DatabaseOptions } from '#database';
import { CreateDeliveries1795400000000 } from './migrations/create-deliveries.migration.js';

export const NOTIFICATION_SCHEMA = 'notification';

/** notification-service's DataSource: its `notification` schema. */
export function notificationDatabaseOptions(url: string): DatabaseOptions {
  return {
    url,
    schema: NOTIFICATION_SCHEMA,
    migrations: [CreateDeliveries1795400000000],
    applicationName: 'notification-service',
    // Statements are short and no connection is held across a send, so a small pool serves prefetch 50.
    poolSize: 10,
  };
}

/** Before the service starts: apply pending migrations. */
export async function prepareNotificationDatabase(url: string): Promise<void> {
  await withDataSource(notificationDatabaseOptions(url), async (dataSource) => {
    await runMigrations(dataSource, NOTIFICATION_SCHEMA);
  });
}

import { runService } from '#bootstrap';
import { loadConfigOrExit } from '#config';
import { prepareNotificationDatabase } from './notification-database.js';
import { notificationServiceConfigSchema } from './notification-service.config.js';
import { NotificationServiceModule, SERVICE_NAME } from './notification-service.module.js';

runService(SERVICE_NAME, async () => {
  const config = loadConfigOrExit(notificationServiceConfigSchema);
  // Before the app exists, so no notification is handled against a schema still being migrated.
  await prepareNotificationDatabase(config.DATABASE_URL);
  return { name: SERVICE_NAME, config, module: NotificationServiceModule.register(config), consumes: true };
});

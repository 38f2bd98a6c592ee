import { runService } from '#bootstrap';
import { loadConfigOrExit, serviceConfigSchema } from '#config';
import { NotificationServiceModule, SERVICE_NAME } from './notification-service.module.js';

runService(SERVICE_NAME, () => {
  const config = loadConfigOrExit(serviceConfigSchema(3003));
  return { name: SERVICE_NAME, config, module: NotificationServiceModule.register(config), consumes: true };
});

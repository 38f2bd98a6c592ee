import { runService } from '#bootstrap';
import { loadConfigOrExit, serviceConfigSchema } from '#config';
import { PaymentServiceModule, SERVICE_NAME } from './payment-service.module.js';

runService(() => {
  const config = loadConfigOrExit(serviceConfigSchema(3002));
  return { name: SERVICE_NAME, config, module: PaymentServiceModule.register(config), consumes: true };
});

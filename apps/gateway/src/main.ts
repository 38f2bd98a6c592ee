import { runService } from '#bootstrap';
import { loadConfigOrExit, serviceConfigSchema } from '#config';
import { GatewayModule, SERVICE_NAME } from './gateway.module.js';

runService(() => {
  const config = loadConfigOrExit(serviceConfigSchema(3000));
  return { name: SERVICE_NAME, config, module: GatewayModule.register(config), consumes: false };
});

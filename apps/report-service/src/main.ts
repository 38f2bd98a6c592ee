import { runService } from '#bootstrap';
import { loadConfigOrExit, serviceConfigSchema } from '#config';
import { ReportServiceModule, SERVICE_NAME } from './report-service.module.js';

runService(() => {
  const config = loadConfigOrExit(serviceConfigSchema(3001));
  return { name: SERVICE_NAME, config, module: ReportServiceModule.register(config), consumes: true };
});

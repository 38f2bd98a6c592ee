import { runService } from '#bootstrap';
import { loadConfigOrExit } from '#config';
import { prepareReportDatabase } from './report-database.js';
import { reportServiceConfigSchema } from './report-service.config.js';
import { ReportServiceModule, SERVICE_NAME } from './report-service.module.js';

runService(SERVICE_NAME, async () => {
  const config = loadConfigOrExit(reportServiceConfigSchema);
  // Before the app exists, so no message is handled against a schema or dataset still being prepared.
  await prepareReportDatabase(config.DATABASE_URL, config.ORDERS_SEED_ROWS);
  return { name: SERVICE_NAME, config, module: ReportServiceModule.register(config), consumes: true };
});

import { runService } from '#bootstrap';
import { loadConfigOrExit } from '#config';
import { preparePaymentDatabase } from './payment-database.js';
import { paymentServiceConfigSchema } from './payment-service.config.js';
import { PaymentServiceModule, SERVICE_NAME } from './payment-service.module.js';

runService(SERVICE_NAME, async () => {
  const config = loadConfigOrExit(paymentServiceConfigSchema);
  // Before the app exists, so no charge is handled against a schema still being migrated.
  await preparePaymentDatabase(config.DATABASE_URL);
  return { name: SERVICE_NAME, config, module: PaymentServiceModule.register(config), consumes: true };
});

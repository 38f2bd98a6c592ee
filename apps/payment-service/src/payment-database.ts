import { runMigrations, withDataSource, type DatabaseOptions } from '#database';
import { CreatePayments1795300000000 } from './migrations/create-payments.migration.js';
import { CreateSandboxLedger1795300000001 } from './provider/create-sandbox-ledger.migration.js';

export const PAYMENT_SCHEMA = 'payment';

/** payment-service's DataSource: its `payment` schema, plus the sandbox provider's ledger migration. */
export function paymentDatabaseOptions(url: string): DatabaseOptions {
  return {
    url,
    schema: PAYMENT_SCHEMA,
    migrations: [CreatePayments1795300000000, CreateSandboxLedger1795300000001],
    applicationName: 'payment-service',
  };
}

/** Before the service starts: apply pending migrations. */
export async function preparePaymentDatabase(url: string): Promise<void> {
  await withDataSource(paymentDatabaseOptions(url), async (dataSource) => {
    await runMigrations(dataSource, PAYMENT_SCHEMA);
  });
}

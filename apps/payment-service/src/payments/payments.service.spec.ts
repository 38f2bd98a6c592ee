import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import type { PaymentProvider } from '../provider/payment-provider.js';
import { MAX_DATABASE_WAIT_MS, PaymentAwaitsDatabaseError, PaymentsService } from './payments.service.js';

/** payment-service with a database that cannot be reached (the pool's acquire times out). */
function withoutDatabase(): PaymentsService {
  const unreachable = new Error('timeout exceeded when trying to connect');
  const dataSource = {
    createQueryRunner: () => ({
      connect: () => Promise.reject(unreachable),
      release: () => Promise.resolve(),
    }),
  } as unknown as DataSource;
  return new PaymentsService(dataSource, {} as PaymentProvider, { publish: () => Promise.resolve() });
}

const cmd = { amount: 1999, currency: 'EUR', customerId: 'cus_1' };
const job = (publishedAt: number) => ({ jobId: 'job-1', tenant: 'acme', messageId: 'm-1', publishedAt });

describe(PaymentsService.name, () => {
  it('hands a delivery back while the database is away, using up no attempt', async () => {
    await expect(withoutDatabase().chargeOnce(job(Date.now() - 60_000), cmd)).rejects.toBeInstanceOf(
      PaymentAwaitsDatabaseError,
    );
  });

  it('stops waiting a day after the job was published: the error is routed like any other', async () => {
    const outcome = withoutDatabase()
      .chargeOnce(job(Date.now() - MAX_DATABASE_WAIT_MS - 1000), cmd)
      .catch((error: unknown) => error);
    expect(await outcome).not.toBeInstanceOf(PaymentAwaitsDatabaseError);
    expect(await outcome).toMatchObject({ message: 'timeout exceeded when trying to connect' });
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Stack, waitFor } from '#testing';

const API_KEYS = 'shop:shop-key:jobs:write+jobs:read,other:other-key:jobs:write+jobs:read';

interface Job {
  id: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** Payments through the gateway with the payment-service running: charged once, however often asked. */
describe('payments, end to end', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'e2e-pay',
      env: { API_KEYS, RETRY_TIERS: '300ms,600ms' },
      services: ['gateway', 'payment-service'],
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const pay = (body: unknown, key?: string, apiKey = 'shop-key') =>
    fetch(`${stack.urls.gateway}/v1/payments`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    });

  const finished = (id: string) =>
    waitFor(
      async () => {
        const job = (await (
          await fetch(`${stack.urls.gateway}/v1/jobs/${id}`, {
            headers: { authorization: 'Bearer shop-key' },
          })
        ).json()) as Job;
        return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: `payment job ${id} to finish` },
    );

  const ledgerCharges = async (amount: number) =>
    Number(
      (
        await stack.query<{ n: string }>(
          'SELECT count(*) AS n FROM payment_sandbox.charges WHERE amount = $1 AND charge_id IS NOT NULL',
          [amount],
        )
      )[0]?.n,
    );

  it('charges once: a resubmission with the same key returns the same job, a changed body is a 409', async () => {
    const key = `order-${randomUUID()}`;
    const charge = { amount: 4242, currency: 'EUR', customerId: 'cus_42', description: 'Order 42' };
    const first = await pay(charge, key);
    expect(first.status).toBe(202);
    const job = (await first.json()) as Job;
    const again = await pay(
      { description: 'Order 42', customerId: 'cus_42', currency: 'EUR', amount: 4242 },
      key,
    );
    expect(again.status).toBe(200);
    expect(((await again.json()) as Job).id).toBe(job.id);
    expect((await pay({ ...charge, amount: 4343 }, key)).status).toBe(409);

    const done = await finished(job.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { status: 'captured', amount: 4242, currency: 'EUR', paymentId: expect.any(String) },
    });
    expect((await pay(charge, key)).status).toBe(200);
    expect(await ledgerCharges(4242)).toBe(1);
  });

  it('rejects what it cannot charge: no key, a bad currency or amount', async () => {
    const charge = { amount: 1999, currency: 'EUR', customerId: 'cus_1' };
    expect((await pay(charge)).status).toBe(400);
    expect((await pay({ ...charge, currency: 'euro' }, randomUUID())).status).toBe(400);
    expect((await pay({ ...charge, amount: -5 }, randomUUID())).status).toBe(400);
    expect((await pay({ ...charge, amount: 100_000_001 }, randomUUID())).status).toBe(400);
  });

  it('fails a declined card at once, and retries a flaky provider to success on the third attempt', async () => {
    const declined = (await (
      await pay({ amount: 1002, currency: 'USD', customerId: 'cus_7' }, randomUUID())
    ).json()) as Job;
    const flaky = (await (
      await pay({ amount: 1003, currency: 'USD', customerId: 'cus_8' }, randomUUID())
    ).json()) as Job;
    expect(await finished(declined.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'card_declined' },
    });
    expect(await finished(flaky.id)).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(await ledgerCharges(1002)).toBe(0);
    expect(await ledgerCharges(1003)).toBe(1);
  });
});

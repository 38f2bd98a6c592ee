import { z } from 'zod';
import { parseDuration, serviceConfigSchema } from '#config';

const latency = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration like 0ms, 250ms, 2s` });
    return z.NEVER;
  }
  return ms;
});

/** The common service settings plus payment-service's own. */
export const paymentServiceConfigSchema = serviceConfigSchema(3002).extend({
  /** How long the built-in sandbox provider takes to answer a call (milliseconds once parsed). */
  SANDBOX_LATENCY: latency.default(0),
});

export type PaymentServiceConfig = z.output<typeof paymentServiceConfigSchema>;

import { z } from 'zod';
import { defineCommand } from './contract.js';

/** A day of the calendar as YYYY-MM-DD (2026-02-30 has the shape and is no day). */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
  .refine((v) => isCalendarDate(v), 'is not a day of the calendar');

/**
 * A time Postgres and JavaScript both store as written: years 1 to 9999 (UTC). Postgres has no year 0
 * ("0000-…"), and JavaScript writes years past 9999 with a sign ("+010000-…").
 */
export function isStorableTime(time: Date): boolean {
  const year = time.getUTCFullYear();
  return !Number.isNaN(year) && year >= 1 && year <= 9999;
}

/** A day of the calendar Postgres keeps (it has no year 0, which JavaScript's has). */
export function isCalendarDate(text: string): boolean {
  const day = new Date(`${text}T00:00:00Z`);
  return isStorableTime(day) && day.toISOString().slice(0, 10) === text;
}

export const OrderStatus = z.enum(['pending', 'paid', 'refunded', 'cancelled']);

export const GenerateReport = z.strictObject({
  format: z.enum(['csv', 'pdf']),
  dataset: z.literal('orders'),
  filters: z
    .strictObject({
      from: isoDate.optional(),
      to: isoDate.optional(),
      status: OrderStatus.optional(),
    })
    .optional(),
});
export type GenerateReport = z.output<typeof GenerateReport>;

export const RunEcho = z.strictObject({
  message: z.string().min(1).max(1024),
  failTimes: z.int().min(0).max(10).default(0),
  failPermanently: z.boolean().default(false),
  cpuMs: z.int().min(0).max(10_000).default(0),
});
export type RunEcho = z.output<typeof RunEcho>;

export const ChargePayment = z.strictObject({
  amount: z.int().min(1).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code'),
  customerId: z.string().min(1).max(64),
  description: z.string().max(255).optional(),
});
export type ChargePayment = z.output<typeof ChargePayment>;

export const SendNotification = z.discriminatedUnion('channel', [
  z.strictObject({
    channel: z.literal('email'),
    to: z.email(),
    subject: z.string().min(1).max(255),
    text: z.string().max(100_000),
  }),
  z.strictObject({
    channel: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    payload: z.json(),
  }),
]);
export type SendNotification = z.output<typeof SendNotification>;

/**
 * Who to tell when a job ends (API.md, "a submit route also accepts … notify"): an email address, a
 * webhook, or both. It travels with the command as the `notify` header, so every service can honour it.
 */
export const Notify = z
  .strictObject({
    email: z.email().optional(),
    webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((n) => n.email !== undefined || n.webhookUrl !== undefined, 'needs email or webhookUrl');
export type Notify = z.output<typeof Notify>;

export const ReportCommands = {
  generate: defineCommand('report.generate', 'report-service', GenerateReport),
} as const;

export const EchoCommands = {
  // An echo without cpuMs takes microseconds: packed. One that burns CPU travels alone, to spread evenly.
  run: defineCommand('echo.run', 'report-service', RunEcho, {
    pack: { max: 50, when: (echo) => echo.cpuMs === 0 },
  }),
} as const;

export const PaymentCommands = {
  charge: defineCommand('payment.charge', 'payment-service', ChargePayment),
} as const;

export const NotificationCommands = {
  send: defineCommand('notification.send', 'notification-service', SendNotification),
} as const;

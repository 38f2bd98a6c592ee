import { z } from 'zod';
import { defineEvent } from './contract.js';

const jobId = z.uuid();
const at = z.iso.datetime();

export const JobError = z.strictObject({
  message: z.string().max(2048),
  code: z.string().max(128),
});
export type JobError = z.output<typeof JobError>;

export const JobStarted = z.strictObject({ jobId, attempt: z.int().min(1), at });
export type JobStarted = z.output<typeof JobStarted>;

export const JobProgressed = z.strictObject({ jobId, progress: z.int().min(0).max(100), at });
export type JobProgressed = z.output<typeof JobProgressed>;

export const JobSucceeded = z.strictObject({ jobId, attempt: z.int().min(1), result: z.json(), at });
export type JobSucceeded = z.output<typeof JobSucceeded>;

export const JobRetrying = z.strictObject({
  jobId,
  attempt: z.int().min(1),
  error: JobError,
  retryAt: at,
  at,
});
export type JobRetrying = z.output<typeof JobRetrying>;

export const JobFailed = z.strictObject({ jobId, attempt: z.int().min(0), error: JobError, at });
export type JobFailed = z.output<typeof JobFailed>;

/** Lifecycle events: the workers' side of a job's status, consumed by the gateway (`job.#`). */
export const JobEvents = {
  started: defineEvent('job.started', JobStarted),
  progressed: defineEvent('job.progress', JobProgressed),
  succeeded: defineEvent('job.succeeded', JobSucceeded),
  retrying: defineEvent('job.retrying', JobRetrying),
  failed: defineEvent('job.failed', JobFailed),
} as const;

export const ReportReady = z.strictObject({
  jobId,
  tenant: z.string(),
  artifactId: z.uuid(),
  format: z.enum(['csv', 'pdf']),
  rows: z.int().min(0),
  bytes: z.int().min(0),
  notify: z.strictObject({ email: z.email().optional(), webhookUrl: z.url().optional() }).optional(),
});
export type ReportReady = z.output<typeof ReportReady>;

const PaymentOutcome = z.strictObject({
  jobId,
  tenant: z.string(),
  paymentId: z.uuid().optional(),
  amount: z.int(),
  currency: z.string(),
  customerId: z.string(),
  error: JobError.optional(),
});
export type PaymentOutcome = z.output<typeof PaymentOutcome>;

export const ReportEvents = {
  ready: defineEvent('report.ready', ReportReady),
} as const;

export const PaymentEvents = {
  succeeded: defineEvent('payment.succeeded', PaymentOutcome),
  failed: defineEvent('payment.failed', PaymentOutcome),
} as const;

import { z } from 'zod';
import { isStorableTime, Notify } from './commands.js';
import { defineEvent } from './contract.js';
import { jsonValue } from './json-value.js';

const jobId = z.uuid();
/**
 * A time the gateway stores: Postgres has no year 0, and one event it refuses would fail the statement
 * applying every event batched with it. Refused here, the event is a poison message (dead-lettered).
 */
const at = z.iso.datetime().refine((v) => isStorableTime(new Date(v)), 'must be in the years 1 to 9999');
/** The largest Postgres `integer`: what the gateway stores attempts and runs in. */
/** The largest Postgres `integer`: counts that are stored must stay within it. */
export const INT4_MAX = 2_147_483_647;
/** An attempt number the gateway stores. */
const attempt = (min: 0 | 1) => z.int().min(min).max(INT4_MAX);

export const JobError = z.strictObject({
  message: z.string().max(2048),
  code: z.string().max(128),
});
export type JobError = z.output<typeof JobError>;

export const JobStarted = z.strictObject({ jobId, attempt: attempt(1), at });
export type JobStarted = z.output<typeof JobStarted>;

export const JobProgressed = z.strictObject({ jobId, progress: z.int().min(0).max(100), at });
export type JobProgressed = z.output<typeof JobProgressed>;

export const JobSucceeded = z.strictObject({ jobId, attempt: attempt(1), result: jsonValue, at });
export type JobSucceeded = z.output<typeof JobSucceeded>;

export const JobRetrying = z.strictObject({
  jobId,
  attempt: attempt(1),
  error: JobError,
  retryAt: at,
  at,
});
export type JobRetrying = z.output<typeof JobRetrying>;

export const JobFailed = z.strictObject({ jobId, attempt: attempt(0), error: JobError, at });
export type JobFailed = z.output<typeof JobFailed>;

/** A running job stopped because it was cancelled (API.md, `POST /v1/jobs/:id/cancel`). */
export const JobCancelled = z.strictObject({ jobId, attempt: attempt(0), at });
export type JobCancelled = z.output<typeof JobCancelled>;

const batched = <T extends string, S extends z.ZodType>(type: T, body: S) =>
  z.strictObject({
    type: z.literal(type),
    /** Unique per event (a redelivered batch carries the same ids: a `started` counts once). */
    id: z.uuid(),
    tenant: z.string().optional(),
    traceparent: z.string().optional(),
    /**
     * The run of the job the event belongs to: its command's `replay-count`. Absent means 0, and is how 0 is
     * sent: a gateway from before the field (whose contract refuses fields it does not know) still takes
     * the events of jobs never replayed, nearly all of them. The gateway ignores an event of an earlier
     * run than the job's record is on (a late `failed` of the run a replay followed).
     */
    run: z.int().min(1).max(INT4_MAX).optional(),
    body,
  });

/**
 * Many lifecycle events in one message: a worker collects what its jobs report within a couple of
 * milliseconds and publishes them together (one confirmed publish, one delivery, one ack at the gateway
 * instead of one each). Each entry is exactly the event it stands for.
 */
export const JobEventBatch = z.strictObject({
  events: z
    .array(
      z.discriminatedUnion('type', [
        batched('job.started', JobStarted),
        batched('job.progress', JobProgressed),
        batched('job.succeeded', JobSucceeded),
        batched('job.retrying', JobRetrying),
        batched('job.failed', JobFailed),
        batched('job.cancelled', JobCancelled),
      ]),
    )
    .min(1)
    .max(1000),
});
export type JobEventBatch = z.output<typeof JobEventBatch>;
export type BatchedJobEvent = JobEventBatch['events'][number];

/** Lifecycle events: the workers' side of a job's status, consumed by the gateway (`job.#`). */
export const JobEvents = {
  started: defineEvent('job.started', JobStarted),
  progressed: defineEvent('job.progress', JobProgressed),
  succeeded: defineEvent('job.succeeded', JobSucceeded),
  retrying: defineEvent('job.retrying', JobRetrying),
  failed: defineEvent('job.failed', JobFailed),
  cancelled: defineEvent('job.cancelled', JobCancelled),
  batch: defineEvent('job.batch', JobEventBatch),
} as const;

/**
 * Asks every worker to stop a job it is running (fanned out to one exclusive queue per worker process;
 * the gateway publishes it after marking the job `cancelRequested`).
 *
 * `replays` says which runs it stops: the number of times the job had been replayed from its dead letter
 * when the cancel was asked. It stops the commands of that run and of earlier ones (their `replay-count`
 * header is at most `replays`), never those of a later replay. Absent means 0, and is how 0 is sent: a
 * worker from before the field (whose contract refuses fields it does not know) still reads the cancels of
 * jobs never replayed, nearly all of them.
 */
export const CancelRequested = z.strictObject({
  jobId,
  at,
  replays: z.int().min(1).max(INT4_MAX).optional(),
});
export type CancelRequested = z.output<typeof CancelRequested>;

/**
 * A job that carried `notify` ended: the transport publishes it with the terminal lifecycle event, so the
 * notification service can tell the requester whatever the kind. Reports and payments also have their own
 * events (`report.ready`, `payment.*`) with richer content; one notification per job either way.
 */
export const JobEnded = z.strictObject({
  jobId,
  tenant: z.string().optional(),
  /** The command's type, e.g. `report.generate`. */
  type: z.string(),
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  result: jsonValue.optional(),
  error: JobError.optional(),
  notify: Notify,
  at,
});
export type JobEnded = z.output<typeof JobEnded>;

/** The delivery that released lease `leaseId` has finished: a copy of it that comes back is dropped. */
export const LeaseDone = z.strictObject({ leaseId: z.uuid(), jobId: jobId.optional(), at });
export type LeaseDone = z.output<typeof LeaseDone>;

export const ControlEvents = {
  cancelRequested: defineEvent('control.cancel', CancelRequested),
  leaseDone: defineEvent('control.lease-done', LeaseDone),
} as const;

export const NotifyEvents = {
  jobEnded: defineEvent('notify.job-ended', JobEnded),
} as const;

export const ReportReady = z.strictObject({
  jobId,
  tenant: z.string(),
  artifactId: z.uuid(),
  format: z.enum(['csv', 'pdf']),
  rows: z.int().min(0),
  bytes: z.int().min(0),
  notify: Notify.optional(),
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
  notify: Notify.optional(),
});
export type PaymentOutcome = z.output<typeof PaymentOutcome>;

export const ReportEvents = {
  ready: defineEvent('report.ready', ReportReady),
} as const;

export const PaymentEvents = {
  succeeded: defineEvent('payment.succeeded', PaymentOutcome),
  failed: defineEvent('payment.failed', PaymentOutcome),
} as const;

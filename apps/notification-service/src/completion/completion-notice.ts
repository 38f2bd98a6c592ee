import {
  jobKindOf,
  type JobEnded,
  type JobError,
  type JobKind,
  type PaymentOutcome,
  type ReportReady,
} from '#contracts';

/** A job that ended, as the submitter is told about it, whichever event said so. */
export interface CompletionNotice {
  readonly jobId: string;
  readonly tenant: string | undefined;
  /** The command's type, e.g. `report.generate`. */
  readonly type: string;
  readonly kind: JobKind | undefined;
  readonly status: JobEnded['status'];
  /** A small summary of the result: never payment card details (no event carries any). */
  readonly result?: Readonly<Record<string, unknown>>;
  readonly error?: JobError;
  /** Reports: a download link is included. */
  readonly downloadable: boolean;
}

/** A result bigger than this is left out of the notice (the job link shows it whole). */
const MAX_RESULT_JSON = 2048;

export function noticeOfReportReady(event: ReportReady): CompletionNotice {
  return {
    jobId: event.jobId,
    tenant: event.tenant,
    type: 'report.generate',
    kind: 'report',
    status: 'succeeded',
    result: { format: event.format, rows: event.rows, bytes: event.bytes, artifactId: event.artifactId },
    downloadable: true,
  };
}

export function noticeOfPayment(event: PaymentOutcome, status: 'succeeded' | 'failed'): CompletionNotice {
  return {
    jobId: event.jobId,
    tenant: event.tenant,
    type: 'payment.charge',
    kind: 'payment',
    status,
    result: {
      ...(event.paymentId === undefined ? {} : { paymentId: event.paymentId }),
      amount: event.amount,
      currency: event.currency,
    },
    ...(event.error === undefined ? {} : { error: event.error }),
    downloadable: false,
  };
}

/**
 * The notice for `notify.job-ended`, or undefined where a domain event tells it better: a succeeded report
 * (`report.ready` has the download), a captured or declined payment (`payment.*`). Either way the dedupe key
 * allows one notice per job and channel, so a race between the two sends one.
 */
export function noticeOfJobEnded(event: JobEnded, tenant: string | undefined): CompletionNotice | undefined {
  if (event.type === 'report.generate' && event.status === 'succeeded') return undefined;
  if (
    event.type === 'payment.charge' &&
    (event.status === 'succeeded' || (event.status === 'failed' && event.error?.code === 'card_declined'))
  )
    return undefined;
  const result = summaryOf(event.result);
  return {
    jobId: event.jobId,
    tenant: event.tenant ?? tenant,
    type: event.type,
    kind: jobKindOf(event.type),
    status: event.status,
    ...(result === undefined ? {} : { result }),
    ...(event.error === undefined ? {} : { error: event.error }),
    downloadable: false,
  };
}

export interface CompletionLinks {
  readonly self: string;
  readonly download?: string;
}

export function linksOf(notice: CompletionNotice, publicBaseUrl: string): CompletionLinks {
  return {
    self: `${publicBaseUrl}/v1/jobs/${notice.jobId}`,
    ...(notice.downloadable ? { download: `${publicBaseUrl}/v1/reports/${notice.jobId}/download` } : {}),
  };
}

export function emailOf(
  notice: CompletionNotice,
  publicBaseUrl: string,
): { readonly subject: string; readonly text: string } {
  const links = linksOf(notice, publicBaseUrl);
  const lines = [
    `Your ${notice.kind ?? notice.type} job ${notice.jobId} ${notice.status}.`,
    '',
    `Job: ${links.self}`,
    ...(links.download ? [`Download: ${links.download}`] : []),
    ...(notice.error ? ['', `Error (${notice.error.code}): ${notice.error.message}`] : []),
    ...(notice.result ? ['', `Result: ${JSON.stringify(notice.result)}`] : []),
    '',
    'The links need an API key of your tenant with the jobs:read scope.',
    '',
    '-- Conveyor',
  ];
  return { subject: `Conveyor: job ${notice.jobId} ${notice.status}`, text: lines.join('\n') };
}

/** The JSON a completion webhook carries. */
export function webhookPayloadOf(notice: CompletionNotice, publicBaseUrl: string, at: Date) {
  return {
    event: 'job.ended',
    jobId: notice.jobId,
    kind: notice.kind ?? null,
    type: notice.type,
    status: notice.status,
    links: linksOf(notice, publicBaseUrl),
    ...(notice.result ? { result: notice.result } : {}),
    ...(notice.error ? { error: notice.error } : {}),
    at: at.toISOString(),
  };
}

function summaryOf(result: unknown): Record<string, unknown> | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  return JSON.stringify(result).length <= MAX_RESULT_JSON ? (result as Record<string, unknown>) : undefined;
}

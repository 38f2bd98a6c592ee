import type { JobEntity } from './job.entity.js';

/** A job as every route returns it (API.md, "Jobs"). */
export interface JobView {
  id: string;
  kind: string;
  status: string;
  progress: number;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  runAt?: string;
  scheduleId?: string;
  cancelRequested: boolean;
  input: Record<string, unknown>;
  result?: unknown;
  error?: { message: string; code: string };
  links: { self: string; events: string; download?: string };
}

export function toJobView(job: JobEntity): JobView {
  const view: JobView = {
    id: job.id,
    kind: job.kind,
    status: job.status,
    progress: job.status === 'succeeded' ? 100 : job.progress,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    createdAt: job.createdAt.toISOString(),
    cancelRequested: job.cancelRequested,
    input: job.input,
    links: { self: `/v1/jobs/${job.id}`, events: `/v1/jobs/${job.id}/events` },
  };
  if (job.startedAt) view.startedAt = job.startedAt.toISOString();
  if (job.finishedAt) view.finishedAt = job.finishedAt.toISOString();
  if (job.runAt) view.runAt = job.runAt.toISOString();
  if (job.scheduleId) view.scheduleId = job.scheduleId;
  if (job.status === 'succeeded' && job.result !== null) view.result = job.result;
  if (job.error && (job.status === 'failed' || job.status === 'retrying')) view.error = job.error;
  if (job.kind === 'report') view.links.download = `/v1/reports/${job.id}/download`;
  return view;
}

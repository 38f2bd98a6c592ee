import type { Contract } from './contract.js';
import { EchoCommands, NotificationCommands, PaymentCommands, ReportCommands } from './commands.js';

export const JOB_KINDS = ['report', 'payment', 'notification', 'echo'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = [
  'queued',
  'scheduled',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface JobKindSpec {
  /** The command a job of this kind is carried by. */
  readonly command: Contract;
  /** Attempts before the message is dead-lettered: the gateway shows it, the consumer enforces it. */
  readonly maxAttempts: number;
}

/** One place for what each kind of job is: the gateway and the workers both read it. */
export const JobKinds: Readonly<Record<JobKind, JobKindSpec>> = {
  report: { command: ReportCommands.generate, maxAttempts: 5 },
  echo: { command: EchoCommands.run, maxAttempts: 5 },
  payment: { command: PaymentCommands.charge, maxAttempts: 3 },
  notification: { command: NotificationCommands.send, maxAttempts: 8 },
};

/** The kind of job a command (by its message type) carries, if it carries one. */
export function jobKindOf(commandName: string): JobKind | undefined {
  return JOB_KINDS.find((kind) => JobKinds[kind].command.name === commandName);
}

import type { Contract } from './contract.js';
import { EchoCommands, NotificationCommands, PaymentCommands, ReportCommands } from './commands.js';
import { ControlEvents, JobEvents, NotifyEvents, PaymentEvents, ReportEvents } from './events.js';

const all: readonly Contract[] = [
  ...Object.values(ReportCommands),
  ...Object.values(EchoCommands),
  ...Object.values(PaymentCommands),
  ...Object.values(NotificationCommands),
  ...Object.values(JobEvents),
  ...Object.values(ReportEvents),
  ...Object.values(PaymentEvents),
  ...Object.values(ControlEvents),
  ...Object.values(NotifyEvents),
];

const byName = new Map(all.map((c) => [c.name, c]));

/** Every message the system knows, by routing key; an unknown `type` on the wire is a permanent error. */
export function contractFor(name: string): Contract | undefined {
  return byName.get(name);
}

export function allContracts(): readonly Contract[] {
  return all;
}

export function commandContracts(): readonly Contract[] {
  return all.filter((c) => c.kind === 'command');
}

/** A service's standing subscription to events: its queue exists before the first such event is published. */
export interface EventSubscription {
  readonly consumer: string;
  /** The routing-key pattern bound to the events exchange. */
  readonly pattern: string;
  /** The queue's name after `<prefix>.<consumer>.`; the pattern when absent. */
  readonly queue?: string;
}

/**
 * Every standing event subscription. Publishers declare these queues (as they do command queues), so an
 * event published before its consumer ever ran waits for it instead of being dropped as unroutable.
 */
export const EVENT_SUBSCRIPTIONS: readonly EventSubscription[] = [
  { consumer: 'gateway', pattern: 'job.#', queue: 'job-events' },
  { consumer: 'notification-service', pattern: ReportEvents.ready.name },
  { consumer: 'notification-service', pattern: PaymentEvents.succeeded.name },
  { consumer: 'notification-service', pattern: PaymentEvents.failed.name },
  { consumer: 'notification-service', pattern: NotifyEvents.jobEnded.name },
];

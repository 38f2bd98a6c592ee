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

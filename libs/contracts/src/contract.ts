import type { z } from 'zod';

/** A command is addressed to one consumer (imperative name); an event is announced to whoever subscribes. */
export type MessageKind = 'command' | 'event';

export interface Contract<Schema extends z.ZodType = z.ZodType> {
  /** Routing key and AMQP `type`, e.g. `report.generate`. */
  readonly name: string;
  readonly kind: MessageKind;
  /** For a command, the one service that consumes it (its work queue is `<prefix>.<consumer>.<name>`). */
  readonly consumer?: string;
  readonly version: number;
  readonly schema: Schema;
}

export type PayloadOf<C extends Contract> = z.output<C['schema']>;

export function defineCommand<Schema extends z.ZodType>(
  name: string,
  consumer: string,
  schema: Schema,
  version = 1,
): Contract<Schema> {
  return Object.freeze({ name, kind: 'command', consumer, version, schema });
}

export function defineEvent<Schema extends z.ZodType>(
  name: string,
  schema: Schema,
  version = 1,
): Contract<Schema> {
  return Object.freeze({ name, kind: 'event', version, schema });
}

/** The `schema` header value, e.g. `report.generate/1`. */
export function schemaId(contract: Contract): string {
  return `${contract.name}/${contract.version}`;
}

export class ContractViolation extends Error {
  constructor(
    readonly contractName: string,
    readonly issues: readonly string[],
  ) {
    super(`${contractName} payload is invalid: ${issues.join('; ')}`);
    this.name = 'ContractViolation';
  }
}

/** Parses `payload` against the contract, returning the typed value or throwing {@link ContractViolation}. */
export function parsePayload<C extends Contract>(contract: C, payload: unknown): PayloadOf<C> {
  const parsed = contract.schema.safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ContractViolation(contract.name, issues);
  }
  return parsed.data as PayloadOf<C>;
}

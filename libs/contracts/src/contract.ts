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
  /** For a command that may travel packed, many to one message (see {@link PackPolicy}). */
  readonly pack?: PackPolicy<z.output<Schema>>;
}

/**
 * A command short enough to travel packed: the commands one commit produces go out as one broker message
 * of up to `max` of them instead of one message each, and the worker runs, retries and dead-letters each
 * on its own (DESIGN.md, "Packs"). The broker then routes, stores and settles one message per pack. Only
 * for work known to be short: a pack is acked once all of its jobs are settled, so one long job keeps the
 * others' message unacked, and a pack goes to one worker, so packing long work would spread it less evenly.
 */
export interface PackPolicy<Payload = unknown> {
  readonly max: number;
  /** Which payloads may be packed (all when absent); the others travel one per message. */
  when?(payload: Payload): boolean;
}

export type PayloadOf<C extends Contract> = z.output<C['schema']>;

export function defineCommand<Schema extends z.ZodType>(
  name: string,
  consumer: string,
  schema: Schema,
  options: { readonly version?: number; readonly pack?: PackPolicy<z.output<Schema>> } = {},
): Contract<Schema> {
  const { version = 1, pack } = options;
  return Object.freeze({ name, kind: 'command', consumer, version, schema, ...(pack ? { pack } : {}) });
}

/** Whether this payload of `contract` may travel packed (see {@link PackPolicy}). */
export function packable<C extends Contract>(contract: C, payload: PayloadOf<C>): boolean {
  const pack = contract.pack;
  return pack !== undefined && pack.max > 1 && (pack.when?.(payload) ?? true);
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

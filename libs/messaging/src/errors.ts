/**
 * "Never retry this": bad input, a declined card, a refused webhook target. The transport sends the message
 * straight to its dead-letter queue. Anything else a handler throws is retried by policy.
 */
export class PermanentError extends Error {
  constructor(
    message: string,
    readonly code = 'permanent_failure',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure worth retrying that carries a stable code for the job's `error.code`. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly code = 'transient_failure',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Another delivery of the same job is running right now (e.g. a lease copy came back while the original
 * still renders): check again later. The transport hands the message back as a lease — no attempt is used
 * up, no lifecycle event is published — however long the other one takes.
 */
export class StillRunningError extends RetryableError {
  constructor(message: string, code = 'still_running') {
    super(message, code);
  }
}

/** The message itself is unusable (not JSON, unknown type, fails its contract): a poison message. */
export type InvalidMessageCode = 'malformed_message' | 'unknown_message_type' | 'invalid_payload';

export class InvalidMessageError extends PermanentError {
  declare readonly code: InvalidMessageCode;
}

/** The broker confirmed a mandatory publish only after returning it: no queue was bound for it. */
export class UnroutableMessageError extends Error {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
  ) {
    super(`No queue is bound for "${routingKey}" on exchange "${exchange}"`);
    this.name = 'UnroutableMessageError';
  }
}

/** The broker did not confirm a publish (nack, timeout, or the channel closed first). */
export class PublishFailedError extends Error {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    options?: ErrorOptions,
  ) {
    super(`Publish to "${exchange}" with key "${routingKey}" was not confirmed`, options);
    this.name = 'PublishFailedError';
  }
}

/** A stable, bounded code for any thrown value: the error's own `code` when it has a sensible one. */
export function errorCodeOf(error: unknown): string {
  if (error instanceof Error && 'code' in error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[a-z][a-z0-9_.-]{0,63}$/i.test(code)) return code;
  }
  return 'internal_error';
}

export function errorMessageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 1024 ? `${message.slice(0, 1021)}...` : message;
}

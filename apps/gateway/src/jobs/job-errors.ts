/** No such job for this caller (another tenant's job is indistinguishable from a missing one). */
export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} not found`);
    this.name = 'JobNotFoundError';
  }
}

/** The job exists but is not in a state that allows what was asked. */
export class JobStateConflictError extends Error {
  constructor(
    readonly jobId: string,
    message: string,
  ) {
    super(message);
    this.name = 'JobStateConflictError';
  }
}

/** What was asked for existed once and has been removed for good (an expired download). */
export class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

/** A cursor the client sent that we did not issue. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not valid');
    this.name = 'InvalidCursorError';
  }
}

/** The Idempotency-Key was used before, on this route, for a different request. */
export class IdempotencyConflictError extends Error {
  constructor(readonly key: string) {
    super('This Idempotency-Key was already used with a different request body');
    this.name = 'IdempotencyConflictError';
  }
}

/** Input that passed the route's own validation but not a later check (e.g. an edited replay payload). */
export class InvalidInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidInputError';
  }
}

/** A limit was reached (rate or jobs in flight): try again after `retryAfterSeconds`. */
export class TooManyRequestsError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'TooManyRequestsError';
  }
}

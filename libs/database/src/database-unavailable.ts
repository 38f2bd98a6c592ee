/** Postgres cannot be reached or is shutting down: a dependency outage (HTTP 503), not a bug. */
export class DatabaseUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super('The database is unavailable', options);
    this.name = 'DatabaseUnavailableError';
  }
}

// SQLSTATE classes 08 (connection exception) and 57P0x (operator intervention: shutdown, crash, restart).
const unavailableStates = /^(08\d{3}|57P0[1-4]|53300)$/;
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const unavailableMessages =
  /Connection terminated|timeout exceeded when trying to connect|Connection terminated unexpectedly|connect ECONNREFUSED|the database system is (starting up|shutting down)|Client has encountered a connection error/i;

/** True when `error` (or its cause chain) says the database is out of reach rather than that the query is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed rather than `instanceof Error`: errors from socket internals may come from another realm.
  let e: unknown = error;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const { code, message, driverError, cause } = e as {
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && (unavailableStates.test(code) || unavailableCodes.has(code))) return true;
    if (typeof message === 'string' && unavailableMessages.test(message)) return true;
    e = driverError ?? cause;
  }
  return false;
}

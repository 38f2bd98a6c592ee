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
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableStates.test(code) || unavailableCodes.has(code))) return true;
    if (unavailableMessages.test(e.message)) return true;
    const driverError = (e as { driverError?: unknown }).driverError;
    e = driverError instanceof Error ? driverError : e.cause;
  }
  return false;
}

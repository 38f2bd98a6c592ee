/** Postgres cannot be reached or is shutting down: a dependency outage (HTTP 503), not a bug. */
export class DatabaseUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super('The database is unavailable', options);
    this.name = 'DatabaseUnavailableError';
  }
}

// SQLSTATE class 08 (connection exception), 57P0x (operator intervention: shutdown, crash, restart), class 53
// (insufficient resources: disk full, out of memory, too many connections), 25006 (a read-only transaction:
// a server that is a standby now, as after a failover until the pool reconnects to the new primary), and
// 40001 / 40P01 / 55P03 (serialization failure, deadlock, lock not available: the same request would
// succeed if tried again).
const unavailableStates = /^(08\d{3}|57P0[1-4]|53\d{3}|25006|40001|40P01|55P03)$/;
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
  return causeChain(error).some(
    (e) =>
      e instanceof DatabaseUnavailableError ||
      (typeof e.code === 'string' && (unavailableStates.test(e.code) || unavailableCodes.has(e.code))) ||
      (typeof e.message === 'string' && unavailableMessages.test(e.message)),
  );
}

/**
 * True when Postgres cancelled the statement for taking too long (SQLSTATE 57014: `statement_timeout`, or
 * a statement that reached it after its deadline): the server is there but did not answer in time, which
 * the API treats as the outage it amounts to (503), not as a bug.
 */
export function isDatabaseTimeout(error: unknown): boolean {
  return causeChain(error).some((e) => e.code === '57014');
}

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly driverError?: unknown;
  readonly cause?: unknown;
}

/**
 * `error` and what it wraps (TypeORM's `driverError`, else `cause`), five deep at most. Duck-typed rather
 * than `instanceof Error`: errors from socket internals may come from another realm.
 */
function causeChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let e = error; typeof e === 'object' && e !== null && chain.length < 5;) {
    const link = e as ErrorLike;
    chain.push(link);
    e = link.driverError ?? link.cause;
  }
  return chain;
}

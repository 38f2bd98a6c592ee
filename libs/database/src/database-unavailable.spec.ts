import { describe, expect, it } from '@jest/globals';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './database-unavailable.js';

describe(isDatabaseUnavailable.name, () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('recognises an unreachable or restarting server', () => {
    expect(isDatabaseUnavailable(withCode('ECONNREFUSED'))).toBe(true);
    expect(
      isDatabaseUnavailable(withCode('57P01', 'terminating connection due to administrator command')),
    ).toBe(true);
    expect(isDatabaseUnavailable(withCode('08006'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new DatabaseUnavailableError())).toBe(true);
  });

  it('looks through TypeORM driver errors, causes, and errors from another realm', () => {
    expect(
      isDatabaseUnavailable(
        Object.assign(new Error('query failed'), { driverError: withCode('ECONNRESET') }),
      ),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withCode('ETIMEDOUT') }))).toBe(true);
    expect(isDatabaseUnavailable({ message: 'connect ECONNREFUSED 127.0.0.1:5432' })).toBe(true);
  });

  it('leaves query errors alone: those are bugs or bad input, not outages', () => {
    expect(isDatabaseUnavailable(withCode('23505', 'duplicate key value violates unique constraint'))).toBe(
      false,
    );
    expect(isDatabaseUnavailable(withCode('42P01', 'relation "x" does not exist'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});

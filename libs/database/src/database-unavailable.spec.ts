import { describe, expect, it } from '@jest/globals';
import {
  DatabaseUnavailableError,
  isDatabaseTimeout,
  isDatabaseUnavailable,
} from './database-unavailable.js';

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

  it('tells a statement Postgres cancelled for time (57014) apart, through driver errors and causes', () => {
    const cancelled = withCode('57014', 'canceling statement due to statement timeout');
    expect(isDatabaseTimeout(Object.assign(new Error('query failed'), { driverError: cancelled }))).toBe(
      true,
    );
    expect(isDatabaseTimeout(new Error('wrapped', { cause: cancelled }))).toBe(true);
    expect(isDatabaseUnavailable(cancelled)).toBe(false);
    expect(isDatabaseTimeout(withCode('23505', 'duplicate key'))).toBe(false);
    expect(isDatabaseTimeout(undefined)).toBe(false);
  });

  it('takes a full disk, a standby after failover and a deadlock for outages a retry may get past', () => {
    for (const code of ['53100', '53200', '53300', '25006', '40001', '40P01', '55P03']) {
      expect({ code, unavailable: isDatabaseUnavailable(withCode(code)) }).toEqual({
        code,
        unavailable: true,
      });
    }
  });
});

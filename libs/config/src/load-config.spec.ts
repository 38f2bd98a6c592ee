import { describe, expect, it } from '@jest/globals';
import { serviceConfigSchema } from './common.schema.js';
import { formatDuration, parseDuration } from './duration.js';
import { ConfigError, loadConfig } from './load-config.js';

describe(loadConfig.name, () => {
  const schema = serviceConfigSchema(3001);

  it('applies the documented defaults', () => {
    expect(loadConfig(schema, {})).toMatchObject({
      PORT: 3001,
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/conveyor',
      CONVEYOR_PREFIX: 'conveyor',
      RETRY_TIERS: [1000, 5000, 30_000, 120_000, 600_000],
      SHUTDOWN_GRACE: 25_000,
    });
  });

  it('parses what the environment sets', () => {
    const config = loadConfig(schema, {
      PORT: '4000',
      RETRY_TIERS: '500ms,2s',
      SHUTDOWN_GRACE: '10s',
      CONVEYOR_PREFIX: 't-1',
    });
    expect(config).toMatchObject({
      PORT: 4000,
      RETRY_TIERS: [500, 2000],
      SHUTDOWN_GRACE: 10_000,
      CONVEYOR_PREFIX: 't-1',
    });
  });

  it('names every bad variable, and hides passwords in what it echoes', () => {
    let error: unknown;
    try {
      loadConfig(schema, { RABBITMQ_URL: 'http://user:secret@host', PORT: '70000', RETRY_TIERS: '1s,soon' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/RABBITMQ_URL: must be a URL like amqp:/);
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/RETRY_TIERS:/);
    expect(message).not.toContain('secret');
  });

  it('refuses a timer of 0 or past what Node can wait (it would spin, or fire at once)', () => {
    for (const value of ['0s', '0', '30d']) {
      expect(() => loadConfig(schema, { LEASE_AFTER: value })).toThrow(/LEASE_AFTER: must be more than 0/);
    }
    expect(loadConfig(schema, { LEASE_AFTER: '24d' }).LEASE_AFTER).toBe(24 * 86_400_000);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(schema, { PORT: '' }).PORT).toBe(3001);
  });
});

describe('durations', () => {
  it('parse and format round-trip in the short form used in queue names', () => {
    expect(['500ms', '1s', '30s', '2m', '1h', '7d'].map((d) => parseDuration(d))).toEqual([
      500, 1000, 30_000, 120_000, 3_600_000, 604_800_000,
    ]);
    expect([500, 1000, 1500, 120_000, 600_000].map(formatDuration)).toEqual([
      '500ms',
      '1s',
      '1500ms',
      '2m',
      '10m',
    ]);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '#config';
import { reportServiceConfigSchema } from './report-service.config.js';

describe('reportServiceConfigSchema', () => {
  it('defaults to port 3001, 100,000 seeded orders and a 7-day retention', () => {
    expect(loadConfig(reportServiceConfigSchema, {})).toMatchObject({
      PORT: 3001,
      ORDERS_SEED_ROWS: 100_000,
      ARTIFACT_RETENTION: 7 * 86_400_000,
      ARTIFACT_SWEEP_INTERVAL: 60_000,
      ARTIFACT_DELETE_GRACE: 3_600_000,
    });
  });

  it('reads the seed size and the retention as a duration', () => {
    const config = loadConfig(reportServiceConfigSchema, {
      ORDERS_SEED_ROWS: '2500',
      ARTIFACT_RETENTION: '36h',
    });

    expect(config.ORDERS_SEED_ROWS).toBe(2500);
    expect(config.ARTIFACT_RETENTION).toBe(36 * 3_600_000);
  });

  it('accepts a delete grace of 0s (delete as soon as expired), not a retention of 0', () => {
    expect(loadConfig(reportServiceConfigSchema, { ARTIFACT_DELETE_GRACE: '0s' }).ARTIFACT_DELETE_GRACE).toBe(
      0,
    );
    expect(loadConfig(reportServiceConfigSchema, { ARTIFACT_DELETE_GRACE: '2h' }).ARTIFACT_DELETE_GRACE).toBe(
      2 * 3_600_000,
    );
  });

  it.each([
    ['ORDERS_SEED_ROWS', '-1'],
    ['ORDERS_SEED_ROWS', '1.5'],
    ['ARTIFACT_RETENTION', 'a week'],
    ['ARTIFACT_RETENTION', '0d'],
    ['ARTIFACT_DELETE_GRACE', 'soon'],
  ])('refuses %s=%s, naming the variable', (variable, value) => {
    expect(() => loadConfig(reportServiceConfigSchema, { [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig(reportServiceConfigSchema, { [variable]: value })).toThrow(variable);
  });
});

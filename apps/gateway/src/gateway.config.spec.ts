import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '#config';
import { gatewayConfigSchema } from './gateway.config.js';

describe('gatewayConfigSchema', () => {
  it('keeps finished jobs for good with JOB_RETENTION=0, as the README says', () => {
    expect(loadConfig(gatewayConfigSchema, { JOB_RETENTION: '0' }).JOB_RETENTION).toBe(0);
    expect(loadConfig(gatewayConfigSchema, { JOB_RETENTION: '90d' }).JOB_RETENTION).toBe(90 * 86_400_000);
  });

  it.each(['SCHEDULE_TICK', 'OUTBOX_RELAY_INTERVAL', 'JOB_CHANGES_HEARTBEAT'])(
    'refuses %s=0s, a loop that would spin',
    (variable) => {
      expect(() => loadConfig(gatewayConfigSchema, { [variable]: '0s' })).toThrow(ConfigError);
      expect(() => loadConfig(gatewayConfigSchema, { [variable]: '0s' })).toThrow(variable);
    },
  );
});

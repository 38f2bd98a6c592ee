import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '#config';
import { paymentServiceConfigSchema } from './payment-service.config.js';

describe('paymentServiceConfigSchema', () => {
  it('defaults to port 3002 and a sandbox that answers at once', () => {
    expect(loadConfig(paymentServiceConfigSchema, {})).toMatchObject({ PORT: 3002, SANDBOX_LATENCY: 0 });
  });

  it('reads the sandbox latency as a duration', () => {
    expect(loadConfig(paymentServiceConfigSchema, { SANDBOX_LATENCY: '250ms' }).SANDBOX_LATENCY).toBe(250);
    expect(loadConfig(paymentServiceConfigSchema, { SANDBOX_LATENCY: '2s' }).SANDBOX_LATENCY).toBe(2000);
  });

  it.each(['fast', '-1s', '1.5s'])('refuses SANDBOX_LATENCY=%s, naming the variable', (value) => {
    expect(() => loadConfig(paymentServiceConfigSchema, { SANDBOX_LATENCY: value })).toThrow(ConfigError);
    expect(() => loadConfig(paymentServiceConfigSchema, { SANDBOX_LATENCY: value })).toThrow(
      'SANDBOX_LATENCY',
    );
  });
});

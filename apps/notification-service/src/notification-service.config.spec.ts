import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '#config';
import {
  DEVELOPMENT_WEBHOOK_SECRETS,
  notificationServiceConfigSchema,
  parseWebhookAllowlist,
} from './notification-service.config.js';

const load = (env: Record<string, string>) => loadConfig(notificationServiceConfigSchema, env);

describe('notificationServiceConfigSchema', () => {
  it('works out of the box in development: Mailpit on localhost, a dev secret for tenant dev, nothing allowed', () => {
    const config = load({});
    expect(config).toMatchObject({
      PORT: 3003,
      SMTP_URL: 'smtp://127.0.0.1:1025',
      WEBHOOK_TIMEOUT: 10_000,
      PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
    });
    expect(config.webhookSecrets.get('dev')).toBe(DEVELOPMENT_WEBHOOK_SECRETS.split(':')[1]);
    expect(config.webhookAllowlist.size).toBe(0);
  });

  it('has no development secret in production', () => {
    expect(load({ NODE_ENV: 'production' }).webhookSecrets.size).toBe(0);
  });

  it('reads secrets split at the first colon, the allowlist, the timeout and the base URL', () => {
    const config = load({
      WEBHOOK_SECRETS: 'acme:whsec_0123456789abcdef:x,globex:whsec_fedcba9876543210',
      WEBHOOK_ALLOWLIST: '127.0.0.1:4567, hooks.internal:443,[::1]:8080',
      WEBHOOK_TIMEOUT: '2s',
      PUBLIC_BASE_URL: 'https://conveyor.example.com/',
    });
    expect(config.webhookSecrets.get('acme')).toBe('whsec_0123456789abcdef:x');
    expect(config.webhookSecrets.get('dev')).toBeUndefined();
    expect([...config.webhookAllowlist]).toEqual(['127.0.0.1:4567', 'hooks.internal:443', '[::1]:8080']);
    expect(config.WEBHOOK_TIMEOUT).toBe(2000);
    expect(config.PUBLIC_BASE_URL).toBe('https://conveyor.example.com');
  });

  it.each([
    ['WEBHOOK_SECRETS', 'acme'],
    ['WEBHOOK_SECRETS', 'acme:tiny-s3cret'],
    ['WEBHOOK_SECRETS', 'acme:whsec_0123456789abcdef,acme:whsec_0123456789abcdef'],
    ['WEBHOOK_ALLOWLIST', '127.0.0.1'],
    ['WEBHOOK_ALLOWLIST', '127.0.0.1:99999'],
    ['WEBHOOK_ALLOWLIST', 'http://127.0.0.1:80'],
    ['WEBHOOK_ALLOWLIST', '[nope]:80'],
    ['WEBHOOK_TIMEOUT', 'soon'],
    ['WEBHOOK_TIMEOUT', '0s'],
    ['SMTP_URL', 'http://mail:25'],
    ['PUBLIC_BASE_URL', 'conveyor.example.com'],
  ])('refuses %s=%s, naming the variable and never echoing a secret', (variable, value) => {
    expect(() => load({ [variable]: value })).toThrow(ConfigError);
    expect(() => load({ [variable]: value })).toThrow(variable);
    if (variable === 'WEBHOOK_SECRETS') expect(() => load({ [variable]: value })).not.toThrow(/whsec|s3cret/);
  });
});

describe(parseWebhookAllowlist.name, () => {
  it('normalises hosts as URLs do, so the guard compares like with like', () => {
    expect(parseWebhookAllowlist('127.1:80,LOCALHOST:8080,[0:0::1]:9000')).toEqual({
      ok: true,
      value: new Set(['127.0.0.1:80', 'localhost:8080', '[::1]:9000']),
    });
  });
});

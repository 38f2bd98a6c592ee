import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { SendNotificationBody } from './notifications.controller.js';

const email = { channel: 'email', to: 'a@example.com', subject: 'Hi', text: 'Hello' };
const webhook = { channel: 'webhook', url: 'https://hooks.example.com/x', payload: { any: 'json' } };

describe('SendNotificationBody', () => {
  it.each([email, webhook])('accepts a %o notification with runAt and notify', (body) => {
    const extras = { runAt: '2030-01-01T10:00:00+02:00', notify: { email: 'ops@example.com' } };
    expect(SendNotificationBody.parse({ ...body, ...extras })).toEqual({ ...body, ...extras });
    expect(SendNotificationBody.parse(body)).toEqual(body);
  });

  it.each([
    ['an unknown field', { ...email, admin: true }],
    ["another channel's field", { ...email, url: 'https://x.example' }],
    ['an unknown channel', { ...email, channel: 'sms' }],
    ['no channel', { to: 'a@example.com', subject: 'Hi', text: 'x' }],
    ['a bad runAt', { ...webhook, runAt: '2030-01-01T10:00:00' }],
    ['a bad notify', { ...webhook, notify: {} }],
    ['a non-http webhook', { ...webhook, url: 'ftp://hooks.example.com/x' }],
    ['a bad address', { ...email, to: 'nobody' }],
  ])('refuses %s', (_, body) => {
    expect(SendNotificationBody.safeParse(body).success).toBe(false);
  });

  it('documents both channels in the OpenAPI schema', () => {
    const schema = JSON.stringify(
      z.toJSONSchema(SendNotificationBody, { target: 'openapi-3.0', io: 'input' }),
    );
    expect(schema).toContain('"webhook"');
    expect(schema).toContain('"email"');
    expect(schema).toContain('runAt');
  });
});

import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { signDelivery, signWebhook, verifyDelivery, verifyWebhook } from './webhook-signature.js';

const secret = 'whsec_0123456789abcdef';
const body = '{"jobId":"42","status":"succeeded"}';

describe(signWebhook.name, () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signWebhook(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });
});

describe(verifyWebhook.name, () => {
  const now = 1_700_000_100;
  const header = signWebhook(secret, body, 1_700_000_000);

  it('accepts the signature over the exact body within the tolerance', () => {
    expect(verifyWebhook(secret, body, header, now)).toBe(true);
  });

  it.each([
    ['another body', secret, `${body} `, header, now],
    ['another secret', 'whsec_fedcba9876543210', body, header, now],
    ['an old timestamp', secret, body, header, now + 400],
    ['a tampered timestamp', secret, body, header.replace('t=1700000000', 't=1700000001'), now],
    ['a malformed header', secret, body, 'v1=abc', now],
    ['two timestamps', secret, body, `t=1700000001,${header}`, now],
  ])('refuses %s', (_, s, b, h, n) => {
    expect(verifyWebhook(s, b, h, n)).toBe(false);
  });

  it('accepts any one of several v1 values (a secret being rotated)', () => {
    const old = signWebhook('whsec_old_secret_0000', body, 1_700_000_000);
    const both = `${old},v1=${header.split('v1=')[1] ?? ''}`;
    expect(verifyWebhook(secret, body, both, now)).toBe(true);
    expect(verifyWebhook('whsec_old_secret_0000', body, both, now)).toBe(true);
  });
});

describe(signDelivery.name, () => {
  const deliveryId = '7d9f3c2e-0000-4000-8000-000000000001';
  const now = 1_700_000_100;
  const header = signDelivery(secret, deliveryId, body, 1_700_000_000);

  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<deliveryId>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${deliveryId}.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies with the delivery id it was sent with, and not with another (a request replayed under a new id)', () => {
    expect(verifyDelivery(secret, deliveryId, body, header, now)).toBe(true);
    expect(verifyDelivery(secret, '7d9f3c2e-0000-4000-8000-000000000002', body, header, now)).toBe(false);
    expect(verifyDelivery(secret, deliveryId, `${body} `, header, now)).toBe(false);
  });
});

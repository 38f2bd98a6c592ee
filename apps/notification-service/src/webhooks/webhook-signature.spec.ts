import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

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
  ])('refuses %s', (_, s, b, h, n) => {
    expect(verifyWebhook(s, b, h, n)).toBe(false);
  });
});

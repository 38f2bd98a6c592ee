import { describe, expect, it } from '@jest/globals';
import { useTestGateway } from './gateway-harness.js';

describe('gateway: an empty body sent as application/json', () => {
  const fixture = useTestGateway('emptybody');
  const post = (path: string, key: string) =>
    fetch(`${fixture.gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '',
    });

  it('is no body: a cancel (which needs none) goes through, a submit (which needs one) is a 400 saying so', async () => {
    const { body } = await fixture.gateway.request('/v1/echo', { key: 'acme-key', body: { message: 'm' } });
    const id = (body as { id: string }).id;
    const cancel = await post(`/v1/jobs/${id}/cancel`, 'acme-key');
    expect(cancel.status).toBe(202);
    expect(await cancel.json()).toMatchObject({ id, status: 'cancelled' });

    const submit = await post('/v1/echo', 'acme-key');
    expect(submit.status).toBe(400);
    expect(await submit.json()).toMatchObject({ message: ['body: must be a JSON object'] });
    // Malformed JSON is still refused as before.
    const malformed = await fetch(`${fixture.gateway.url}/v1/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer acme-key', 'content-type': 'application/json' },
      body: '{"message":',
    });
    expect(malformed.status).toBe(400);
  });
});

import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmtpInbox, Stack, waitFor, WebhookReceiver } from '#testing';

const API_KEYS = 'shop:shop-key:jobs:write+jobs:read';
const WEBHOOK_SECRET = 'whsec_e2e_0123456789abcdef';

interface Job {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  input: Record<string, unknown>;
  result?: { deliveryId: string; channel: string };
  error?: { code: string; message: string };
}

/** POST /v1/notifications through the gateway, delivered by the notification-service process. */
describe('notifications, end to end', () => {
  let stack: Stack;
  let inbox: SmtpInbox;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    inbox = await SmtpInbox.start();
    receiver = await WebhookReceiver.start((_, path) => ({ status: path === '/reject' ? 410 : 200 }));
    stack = await Stack.start({
      label: 'e2e-notify',
      env: {
        API_KEYS,
        ORDERS_SEED_ROWS: '1000',
        RETRY_TIERS: '200ms,400ms',
        SMTP_URL: inbox.url,
        WEBHOOK_SECRETS: `shop:${WEBHOOK_SECRET}`,
        WEBHOOK_ALLOWLIST: `127.0.0.1:${receiver.port}`,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await inbox?.close();
  });

  const notify = (body: unknown) =>
    fetch(`${stack.urls.gateway}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: 'Bearer shop-key', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  const finished = (id: string) =>
    waitFor(
      async () => {
        const job = (await (
          await fetch(`${stack.urls.gateway}/v1/jobs/${id}`, {
            headers: { authorization: 'Bearer shop-key' },
          })
        ).json()) as Job;
        return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: `notification job ${id} to finish` },
    );

  it('sends an email: 202 job of kind notification, the SMTP server receives it, the job ends with { deliveryId, channel }', async () => {
    const response = await notify({
      channel: 'email',
      to: 'e2e@example.com',
      subject: 'Hello',
      text: 'From e2e',
    });
    expect(response.status).toBe(202);
    const job = (await response.json()) as Job;
    expect(job).toMatchObject({ kind: 'notification', maxAttempts: 8 });

    const [email] = await inbox.waitFor('e2e@example.com');
    const done = await finished(job.id);

    expect(email).toMatchObject({ subject: 'Hello', text: 'From e2e' });
    expect(done).toMatchObject({ status: 'succeeded', result: { channel: 'email' } });
    expect(email?.headers['message-id']).toBe(`<${done.result?.deliveryId}@conveyor>`);
  });

  it("sends a signed webhook under the tenant's secret", async () => {
    const response = await notify({
      channel: 'webhook',
      url: receiver.url('/e2e'),
      payload: { hello: 'world' },
    });
    expect(response.status).toBe(202);
    const job = (await response.json()) as Job;

    const done = await finished(job.id);

    expect(done).toMatchObject({ status: 'succeeded', result: { channel: 'webhook' } });
    const [request] = receiver.on('/e2e');
    expect(JSON.parse(request?.body ?? '')).toEqual({ hello: 'world' });
    expect(request?.headers['conveyor-delivery']).toBe(done.result?.deliveryId);
    const [, t, v1] = /^t=(\d+),v1=(\w+)$/.exec(String(request?.headers['conveyor-signature'])) ?? [];
    expect(createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${request?.body}`).digest('hex')).toBe(v1);
  });

  it('fails a webhook at once when the receiver answers 4xx, and refuses a forbidden target', async () => {
    const rejected = (await (
      await notify({ channel: 'webhook', url: receiver.url('/reject'), payload: {} })
    ).json()) as Job;
    const forbidden = (await (
      await notify({ channel: 'webhook', url: 'http://169.254.169.254/latest/meta-data/', payload: {} })
    ).json()) as Job;

    expect(await finished(rejected.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'webhook_rejected' },
    });
    expect(await finished(forbidden.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'target_forbidden' },
    });
  });

  it('accepts runAt and notify on either channel, and answers 400 to unknown fields or channels', async () => {
    const later = await notify({
      channel: 'email',
      to: 'later@example.com',
      subject: 'Later',
      text: 'x',
      runAt: '2099-01-01T00:00:00+01:00',
      notify: { email: 'ops@example.com' },
    });
    expect(later.status).toBe(202);
    expect(((await later.json()) as Job & { runAt: string }).runAt).toBe('2098-12-31T23:00:00.000Z');

    expect(
      (await notify({ channel: 'email', to: 'a@example.com', subject: 'x', text: 'x', admin: true })).status,
    ).toBe(400);
    expect((await notify({ channel: 'sms', to: '+4912345' })).status).toBe(400);
    expect((await notify({ channel: 'webhook', url: 'file:///etc/passwd', payload: {} })).status).toBe(400);
  });

  it('documents the route in the OpenAPI document', async () => {
    const document = (await (await fetch(`${stack.urls.gateway}/docs-json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(document.paths['/v1/notifications']).toBeDefined();
  });
});

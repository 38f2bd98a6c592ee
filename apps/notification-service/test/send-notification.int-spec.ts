import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobEvents, NotificationCommands, type SendNotification } from '#contracts';
import {
  BrokerAdmin,
  ConnectionCanary,
  createTestDatabase,
  EventRecorder,
  randomPrefix,
  SmtpInbox,
  WebhookReceiver,
  type ReceivedRequest,
  type TestDatabase,
} from '#testing';
import { WebhookSender } from '../src/webhooks/webhook.sender.js';
import { systemResolver, TargetForbiddenError, type Resolver } from '../src/webhooks/webhook-target.js';
import { FAKE_DNS, HOSTILE_URLS, hostileUrl } from './hostile-targets.js';
import {
  startNotificationService,
  TEST_TENANT,
  TEST_WEBHOOK_SECRET,
  type RunningNotificationService,
} from './notification-service-harness.js';

interface DeliveryRow {
  status: string;
  attempts: number;
  channel: string;
  response_status: number | null;
  response_excerpt: string | null;
}

/** The receiver's own check, written independently of the service's signing code. */
function signatureVerifies(request: ReceivedRequest, secret: string): boolean {
  const header = String(request.headers['conveyor-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${request.body}`).digest('hex');
  return expected === match[2] && Math.abs(Date.now() / 1000 - Number(match[1])) < 300;
}

describe('notification.send (real Postgres, RabbitMQ, SMTP and HTTP receivers)', () => {
  const prefix = randomPrefix('notify-send');
  let database: TestDatabase;
  let admin: BrokerAdmin;
  let recorder: EventRecorder;
  let inbox: SmtpInbox;
  let receiver: WebhookReceiver;
  let canary: ConnectionCanary;
  let service: RunningNotificationService;

  beforeAll(async () => {
    database = await createTestDatabase('notify_send');
    admin = await BrokerAdmin.connect();
    recorder = await EventRecorder.start(prefix, 'job.#');
    inbox = await SmtpInbox.start();
    canary = await ConnectionCanary.start();
    receiver = await WebhookReceiver.start(async (n, path, abandoned) => {
      switch (path) {
        case '/flaky':
          return n < 2 ? { status: 500, body: 'try later' } : { status: 200, body: 'ok' };
        case '/bad':
          return { status: 400, body: `invalid\u0000payload ${'x'.repeat(500)}` };
        case '/redirect':
          return { status: 302, headers: { location: `http://127.0.0.1:${canary.port}/` } };
        case '/slow':
          // The first attempt is answered only after the sender's timeout (1 s here) made it hang up.
          if (n === 0) await abandoned;
          return { status: 204 };
        default:
          return { status: 200, body: 'ok' };
      }
    });
    service = await startNotificationService({
      databaseUrl: database.url,
      prefix,
      // A delivery that finds its message being sent by another is handed back for one lease: 2 s here.
      env: { SMTP_URL: inbox.url, WEBHOOK_ALLOWLIST: `127.0.0.1:${receiver.port}`, LEASE_AFTER: '2s' },
    });
  });

  afterAll(async () => {
    await service?.app.close();
    await recorder?.close();
    await receiver?.close();
    await canary?.close();
    await inbox?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  const submit = async (cmd: SendNotification, tenant = TEST_TENANT, messageId = randomUUID()) => {
    const jobId = randomUUID();
    await service.publisher.publish(NotificationCommands.send, cmd, {
      jobId,
      tenant,
      messageId,
      maxAttempts: 8,
    });
    return jobId;
  };

  const delivery = async (jobId: string): Promise<DeliveryRow | undefined> =>
    (
      await service.dataSource.query<DeliveryRow[]>(
        `SELECT status, attempts, channel, response_status, response_excerpt
           FROM notification.deliveries WHERE job_id = $1`,
        [jobId],
      )
    )[0];

  it('sends an email through SMTP: the subject and text as given, the job succeeds with { deliveryId, channel }', async () => {
    const jobId = await submit({
      channel: 'email',
      to: 'ann@example.com',
      subject: 'Hi Ann',
      text: 'Hello there',
    });

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);
    const [email] = await inbox.waitFor('ann@example.com');

    const result = succeeded.body.result as { deliveryId: string; channel: string };
    expect(result).toEqual({ deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/), channel: 'email' });
    expect(email).toMatchObject({ subject: 'Hi Ann', text: 'Hello there' });
    expect(email?.headers['message-id']).toBe(`<${result.deliveryId}@conveyor>`);
    expect(await delivery(jobId)).toMatchObject({
      status: 'sent',
      attempts: 1,
      channel: 'email',
      response_status: 250,
    });
  });

  it('sends a message delivered three times once, and answers every delivery with the same deliveryId', async () => {
    const cmd: SendNotification = { channel: 'email', to: 'bob@example.com', subject: 'Once', text: 'once' };
    const jobId = randomUUID();
    const messageId = randomUUID();
    await Promise.all(
      [1, 2, 3].map(() =>
        service.publisher.publish(NotificationCommands.send, cmd, { jobId, tenant: TEST_TENANT, messageId }),
      ),
    );

    const results = await waitForCount(() => recorder.ofJob(jobId, JobEvents.succeeded.name), 3);
    // The copies that came while the first was sending were handed back (a lease), not retried.
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);

    expect(new Set(results.map((e) => (e.body.result as { deliveryId: string }).deliveryId)).size).toBe(1);
    expect(inbox.to('bob@example.com')).toHaveLength(1);
    expect(await delivery(jobId)).toMatchObject({ status: 'sent' });
  });

  it('POSTs a webhook as JSON with a signature that verifies and the delivery id', async () => {
    const payload = { order: 42, items: ['a', 'b'], note: 'ünïcode' };
    const jobId = await submit({ channel: 'webhook', url: receiver.url('/ok'), payload });

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);

    const result = succeeded.body.result as { deliveryId: string; channel: string };
    expect(result.channel).toBe('webhook');
    const [request] = receiver.on('/ok');
    expect(request).toBeDefined();
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['conveyor-delivery']).toBe(result.deliveryId);
    expect(JSON.parse(request?.body ?? '')).toEqual(payload);
    expect(signatureVerifies(request!, TEST_WEBHOOK_SECRET)).toBe(true);
    expect(signatureVerifies(request!, 'whsec_some_other_secret_000')).toBe(false);
    // The delivery id is signed too, so a copy sent again under another id does not verify.
    const delivered = String(request?.headers['conveyor-delivery-signature'] ?? '');
    const t = /^t=(\d+),/.exec(delivered)?.[1];
    const overId = (id: string) =>
      createHmac('sha256', TEST_WEBHOOK_SECRET).update(`${t}.${id}.${request?.body}`).digest('hex');
    expect(delivered).toBe(`t=${t},v1=${overId(result.deliveryId)}`);
  });

  it('retries a receiver answering 500 twice, then delivers exactly once when it answers 200', async () => {
    const jobId = await submit({ channel: 'webhook', url: receiver.url('/flaky'), payload: { n: 1 } });

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);

    expect(succeeded.body.attempt).toBe(3);
    expect(
      recorder.ofJob(jobId, JobEvents.retrying.name).map((e) => (e.body.error as { code: string }).code),
    ).toEqual(['webhook_unavailable', 'webhook_unavailable']);
    expect(receiver.on('/flaky')).toHaveLength(3);
    const ids = new Set(receiver.on('/flaky').map((r) => r.headers['conveyor-delivery']));
    expect(ids).toEqual(new Set([(succeeded.body.result as { deliveryId: string }).deliveryId]));
    expect(await delivery(jobId)).toMatchObject({ status: 'sent', attempts: 3, response_status: 200 });
  });

  it('retries a receiver that times out', async () => {
    const jobId = await submit({ channel: 'webhook', url: receiver.url('/slow'), payload: {} });

    const succeeded = await recorder.waitForEvent(JobEvents.succeeded.name, jobId);

    expect(succeeded.body.attempt).toBe(2);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)[0]?.body.error).toMatchObject({
      code: 'webhook_timeout',
    });
  });

  it('fails the job at once on a 4xx, with the status and a short excerpt, no retry', async () => {
    const jobId = await submit({ channel: 'webhook', url: receiver.url('/bad'), payload: {} });

    const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);

    const error = failed.body.error as { code: string; message: string };
    expect(failed.body.attempt).toBe(1);
    expect(error.code).toBe('webhook_rejected');
    expect(error.message).toMatch(/^Webhook receiver answered 400: invalid payload x+\.\.\.$/);
    expect(error.message.length).toBeLessThan(260);
    expect(recorder.ofJob(jobId, JobEvents.retrying.name)).toHaveLength(0);
    expect(receiver.on('/bad')).toHaveLength(1);
    const row = await delivery(jobId);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, response_status: 400 });
    expect(row?.response_excerpt?.length).toBeLessThanOrEqual(200);
  });

  it('answers a second delivery of a refused webhook with the refusal, sending nothing; a replay sends again', async () => {
    const cmd: SendNotification = { channel: 'webhook', url: receiver.url('/bad'), payload: { again: true } };
    const jobId = randomUUID();
    const publish = (replayCount?: number) =>
      service.publisher.publish(NotificationCommands.send, cmd, {
        jobId,
        tenant: TEST_TENANT,
        messageId: randomUUID(),
        maxAttempts: 8,
        ...(replayCount === undefined ? {} : { replayCount }),
      });
    const posted = () => receiver.on('/bad').filter((r) => r.body === '{"again":true}').length;

    await publish();
    await waitForCount(() => recorder.ofJob(jobId, JobEvents.failed.name), 1);
    // Another delivery of the same run (a duplicate publish, a lost ack): answered from the log.
    await publish();
    const failures = await waitForCount(() => recorder.ofJob(jobId, JobEvents.failed.name), 2);
    expect(failures[1]?.body.error).toMatchObject({ code: 'webhook_rejected' });
    expect(failures[1]?.body.error).toEqual(failures[0]?.body.error);
    expect(posted()).toBe(1);

    // A replay of the job (its command carries replay-count 1) is a new run: it sends again.
    await publish(1);
    await waitForCount(() => recorder.ofJob(jobId, JobEvents.failed.name), 3);
    expect(posted()).toBe(2);
    const rows = await service.dataSource.query<{ id: string }[]>(
      'SELECT id FROM notification.deliveries WHERE job_id = $1',
      [jobId],
    );
    expect(rows).toHaveLength(2);
  });

  it('refuses a tenant without a webhook secret (no_webhook_secret), sending nothing', async () => {
    const jobId = await submit({ channel: 'webhook', url: receiver.url('/nosecret'), payload: {} }, 'nobody');

    const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);

    expect(failed.body.error).toMatchObject({ code: 'no_webhook_secret' });
    expect(receiver.on('/nosecret')).toHaveLength(0);
  });

  describe('SSRF: nothing reaches the canary', () => {
    it.each([
      ['the canary by address', 'target_forbidden', (c: number) => `http://127.0.0.1:${c}/`],
      ['the canary by decimal address', 'target_forbidden', (c: number) => `http://2130706433:${c}/`],
      ['the canary by name', 'target_forbidden', (c: number) => `http://localhost:${c}/`],
      ['the canary over IPv6', 'target_forbidden', (c: number) => `http://[::1]:${c}/`],
      ['the canary by mapped IPv6', 'target_forbidden', (c: number) => `http://[::ffff:127.0.0.1]:${c}/`],
      ['a redirect to the canary', 'webhook_redirected', () => receiver.url('/redirect')],
    ])('a job aimed at %s fails at once (%s)', async (_, code, url) => {
      const jobId = await submit({ channel: 'webhook', url: url(canary.port), payload: {} });

      const failed = await recorder.waitForEvent(JobEvents.failed.name, jobId);

      expect(failed.body).toMatchObject({ attempt: 1, error: { code } });
      expect(canary.connections).toBe(0);
    });

    it(`the sender refuses all ${HOSTILE_URLS.length} hostile URLs without a connection`, async () => {
      const resolve: Resolver = async (hostname) => {
        const fake = FAKE_DNS[hostname];
        if (fake) return fake.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
        return systemResolver(hostname);
      };
      const sut = new WebhookSender({
        allowlist: new Set([`127.0.0.1:${receiver.port}`]),
        timeoutMs: 1000,
        resolve,
      });
      const before = receiver.requests.length;
      const outcomes = await Promise.all(
        HOSTILE_URLS.map(async (template) => {
          const url = hostileUrl(template, receiver.port, canary.port);
          const sent = sut.send({ url, body: '{}', secret: TEST_WEBHOOK_SECRET, deliveryId: randomUUID() });
          return sent.then(
            () => `${url}: sent`,
            (error: unknown) =>
              error instanceof TargetForbiddenError ? 'refused' : `${url}: ${String(error)}`,
          );
        }),
      );

      expect(outcomes.filter((o) => o !== 'refused')).toEqual([]);
      expect(canary.connections).toBe(0);
      expect(receiver.requests.length).toBe(before);
    });

    it('connects a host name to the address it vetted, once resolved, keeping the name as Host', async () => {
      let lookups = 0;
      // A rebinding resolver: vetted as the receiver, anything else afterwards.
      const resolve: Resolver = async () => {
        lookups += 1;
        return [{ address: lookups === 1 ? '127.0.0.1' : '10.0.0.1', family: 4 }];
      };
      const sut = new WebhookSender({
        allowlist: new Set([`hooks.example:${receiver.port}`]),
        timeoutMs: 1000,
        resolve,
      });

      await sut.send({
        url: `http://hooks.example:${receiver.port}/pinned`,
        body: '{}',
        secret: TEST_WEBHOOK_SECRET,
        deliveryId: randomUUID(),
      });

      expect(lookups).toBe(1);
      expect(receiver.on('/pinned')[0]?.headers.host).toBe(`hooks.example:${receiver.port}`);
    });

    it('the sender does reach an allowlisted receiver, so the refusals above are the guard, not a dead network', async () => {
      const sut = new WebhookSender({ allowlist: new Set([`127.0.0.1:${receiver.port}`]), timeoutMs: 1000 });
      await expect(
        sut.send({
          url: receiver.url('/ok'),
          body: '{}',
          secret: TEST_WEBHOOK_SECRET,
          deliveryId: randomUUID(),
        }),
      ).resolves.toMatchObject({ status: 200 });
      const open = new WebhookSender({ allowlist: new Set([`127.0.0.1:${canary.port}`]), timeoutMs: 1000 });
      await open
        .send({
          url: `http://127.0.0.1:${canary.port}/`,
          body: '{}',
          secret: TEST_WEBHOOK_SECRET,
          deliveryId: 'x',
        })
        .catch(() => undefined);
      await waitForValue(() => canary.connections === 1);
      // Runs last: from here on the canary has seen the one connection this test made on purpose.
      expect(canary.connections).toBe(1);
    });
  });
});

async function waitForCount<T>(get: () => T[], count: number, timeoutMs = 15_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = get();
    if (items.length >= count) return items;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${count} (have ${items.length})`);
    await sleep(50);
  }
}

async function waitForValue(probe: () => boolean, timeoutMs = 5000): Promise<void> {
  await waitForCount(() => (probe() ? [true] : []), 1, timeoutMs);
}

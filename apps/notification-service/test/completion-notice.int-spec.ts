import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotifyEvents, PaymentEvents, ReportEvents, type JobEnded, type Notify } from '#contracts';
import {
  BrokerAdmin,
  createTestDatabase,
  randomPrefix,
  SmtpInbox,
  waitFor,
  WebhookReceiver,
  type TestDatabase,
} from '#testing';
import {
  startNotificationService,
  TEST_TENANT,
  TEST_WEBHOOK_SECRET,
  type RunningNotificationService,
} from './notification-service-harness.js';

/** Completion notices: one email and one webhook per job, whichever events report its end. */
describe('completion notices (real Postgres, RabbitMQ, SMTP and HTTP receivers)', () => {
  const prefix = randomPrefix('notify-done');
  let database: TestDatabase;
  let admin: BrokerAdmin;
  let inbox: SmtpInbox;
  let receiver: WebhookReceiver;
  let service: RunningNotificationService;

  beforeAll(async () => {
    database = await createTestDatabase('notify_done');
    admin = await BrokerAdmin.connect();
    inbox = await SmtpInbox.start();
    receiver = await WebhookReceiver.start();
    service = await startNotificationService({
      databaseUrl: database.url,
      prefix,
      env: { SMTP_URL: inbox.url, WEBHOOK_ALLOWLIST: `127.0.0.1:${receiver.port}` },
    });
  });

  afterAll(async () => {
    await service?.app.close();
    await receiver?.close();
    await inbox?.close();
    await admin?.deleteEverything(prefix);
    await admin?.close();
    await database?.drop();
  });

  const jobEnded = (jobId: string, over: Partial<JobEnded> & { notify: Notify }): JobEnded => ({
    jobId,
    tenant: TEST_TENANT,
    type: 'echo.run',
    status: 'succeeded',
    at: new Date().toISOString(),
    ...over,
  });

  /** Every message of the subscription queues handled (acked), none waiting for a retry or dead. */
  const drained = () =>
    waitFor(
      async () => {
        const queues = await admin.queueStats(prefix);
        const ours = queues.filter((q) => /\.notification-service\.(report|payment|notify)\./.test(q.name));
        return ours.length > 0 && ours.every((q) => q.ready === 0 && q.unacked === 0);
      },
      { timeoutMs: 15_000, intervalMs: 250, description: 'subscription queues drained' },
    );

  it('report.ready and notify.job-ended for one report: one email with the download link, one signed webhook', async () => {
    const jobId = randomUUID();
    const notify = { email: 'reports@example.com', webhookUrl: receiver.url(`/done/${jobId}`) };
    await service.publisher.publish(
      NotifyEvents.jobEnded,
      jobEnded(jobId, { type: 'report.generate', notify }),
    );
    await service.publisher.publish(ReportEvents.ready, {
      jobId,
      tenant: TEST_TENANT,
      artifactId: randomUUID(),
      format: 'csv',
      rows: 12,
      bytes: 345,
      notify,
    });

    const [email] = await inbox.waitFor('reports@example.com');
    await waitFor(() => receiver.on(`/done/${jobId}`).length === 1, { description: 'webhook' });
    await drained();

    expect(inbox.to('reports@example.com')).toHaveLength(1);
    expect(email?.subject).toBe(`Conveyor: job ${jobId} succeeded`);
    expect(email?.text).toContain(`https://conveyor.test/v1/jobs/${jobId}`);
    expect(email?.text).toContain(`https://conveyor.test/v1/reports/${jobId}/download`);
    const [hook] = receiver.on(`/done/${jobId}`);
    expect(JSON.parse(hook?.body ?? '')).toMatchObject({
      jobId,
      kind: 'report',
      status: 'succeeded',
      links: { download: `https://conveyor.test/v1/reports/${jobId}/download` },
      result: { rows: 12, bytes: 345, format: 'csv' },
    });
    const [, t, v1] = /^t=(\d+),v1=(\w+)$/.exec(String(hook?.headers['conveyor-signature'])) ?? [];
    expect(createHmac('sha256', TEST_WEBHOOK_SECRET).update(`${t}.${hook?.body}`).digest('hex')).toBe(v1);
  });

  it('notify.job-ended for an echo job, delivered twice: one email', async () => {
    const jobId = randomUUID();
    const event = jobEnded(jobId, {
      notify: { email: 'echo@example.com' },
      result: { message: 'hi', sha256: 'ab' },
    });
    await service.publisher.publish(NotifyEvents.jobEnded, event);
    await service.publisher.publish(NotifyEvents.jobEnded, event);

    const [email] = await inbox.waitFor('echo@example.com');
    await drained();

    expect(inbox.to('echo@example.com')).toHaveLength(1);
    expect(email?.subject).toBe(`Conveyor: job ${jobId} succeeded`);
    expect(email?.text).toContain(`https://conveyor.test/v1/jobs/${jobId}`);
    expect(email?.text).not.toContain('/download');
  });

  it('a failed report is told by notify.job-ended, with the error', async () => {
    const jobId = randomUUID();
    await service.publisher.publish(
      NotifyEvents.jobEnded,
      jobEnded(jobId, {
        type: 'report.generate',
        status: 'failed',
        error: { code: 'transient_failure', message: 'database away' },
        notify: { email: 'failed@example.com' },
      }),
    );

    const [email] = await inbox.waitFor('failed@example.com');

    expect(email?.subject).toBe(`Conveyor: job ${jobId} failed`);
    expect(email?.text).toContain('Error (transient_failure): database away');
  });

  it('payment.succeeded and notify.job-ended for one payment: one email, without the customer', async () => {
    const jobId = randomUUID();
    const notify = { email: 'payments@example.com' };
    await service.publisher.publish(
      NotifyEvents.jobEnded,
      jobEnded(jobId, { type: 'payment.charge', notify, result: { status: 'captured' } }),
    );
    await service.publisher.publish(PaymentEvents.succeeded, {
      jobId,
      tenant: TEST_TENANT,
      paymentId: randomUUID(),
      amount: 1999,
      currency: 'EUR',
      customerId: 'cus_secret_42',
      notify,
    });

    const [email] = await inbox.waitFor('payments@example.com');
    await drained();

    expect(inbox.to('payments@example.com')).toHaveLength(1);
    expect(email?.text).toContain('"amount":1999');
    expect(email?.text).not.toContain('cus_secret_42');
  });

  it("tells a replay's end as well: the first run failed, its replay (replay-count 1) succeeded", async () => {
    const jobId = randomUUID();
    const notify = { email: 'replayed@example.com' };
    await service.publisher.publish(
      NotifyEvents.jobEnded,
      jobEnded(jobId, {
        type: 'payment.charge',
        status: 'failed',
        error: { code: 'provider_unavailable', message: 'The payment provider is unavailable' },
        notify,
      }),
    );
    const [failed] = await inbox.waitFor('replayed@example.com');
    expect(failed?.subject).toBe(`Conveyor: job ${jobId} failed`);

    // The replay's end, reported by both of its events (deduped between them as for a first run).
    const succeeded = {
      jobId,
      tenant: TEST_TENANT,
      paymentId: randomUUID(),
      amount: 1999,
      currency: 'EUR',
      customerId: 'cus_1',
      notify,
    };
    await service.publisher.publish(PaymentEvents.succeeded, succeeded, { jobId, replayCount: 1 });
    await service.publisher.publish(
      NotifyEvents.jobEnded,
      jobEnded(jobId, { type: 'payment.charge', notify, result: { status: 'captured' } }),
      { jobId, replayCount: 1 },
    );
    const emails = await inbox.waitFor('replayed@example.com', 2);
    await drained();

    // Before: the replay's notice had the first run's dedupe key, and was dropped as sent already.
    expect(inbox.to('replayed@example.com')).toHaveLength(2);
    expect(emails[1]?.subject).toBe(`Conveyor: job ${jobId} succeeded`);
  });

  it('events without notify send nothing', async () => {
    const before = inbox.messages.length + receiver.requests.length;
    await service.publisher.publish(PaymentEvents.failed, {
      jobId: randomUUID(),
      tenant: TEST_TENANT,
      amount: 1002,
      currency: 'EUR',
      customerId: 'cus_1',
      error: { code: 'card_declined', message: 'declined' },
    });
    await drained();
    expect(inbox.messages.length + receiver.requests.length).toBe(before);
  });
});

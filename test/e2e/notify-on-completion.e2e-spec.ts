import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmtpInbox, Stack, waitFor } from '#testing';

const API_KEYS = 'shop:shop-key:jobs:write+jobs:read';

interface Job {
  id: string;
  status: string;
}

/**
 * A submission's `notify` tells the submitter when the job ends: all four services as processes. Depends
 * on report-service publishing `report.ready` with the job's notify (the report test) and on the transport
 * publishing `notify.job-ended` for jobs that carried notify (the echo test).
 */
describe('notify on completion, end to end', () => {
  let stack: Stack;
  let inbox: SmtpInbox;

  beforeAll(async () => {
    inbox = await SmtpInbox.start();
    stack = await Stack.start({
      label: 'e2e-notify-done',
      env: { API_KEYS, RETRY_TIERS: '200ms,400ms', SMTP_URL: inbox.url, ORDERS_SEED_ROWS: '2000' },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await inbox?.close();
  });

  const submit = async (path: string, body: unknown) => {
    const response = await fetch(`${stack.urls.gateway}${path}`, {
      method: 'POST',
      headers: { authorization: 'Bearer shop-key', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as Job;
  };

  const finished = (id: string) =>
    waitFor(
      async () => {
        const job = (await (
          await fetch(`${stack.urls.gateway}/v1/jobs/${id}`, {
            headers: { authorization: 'Bearer shop-key' },
          })
        ).json()) as Job;
        return ['succeeded', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: `job ${id} to finish` },
    );

  it('a completed report with notify.email produces one email with a working download link', async () => {
    const job = await submit('/v1/reports', {
      format: 'csv',
      dataset: 'orders',
      notify: { email: 'report-owner@example.com' },
    });
    expect(await finished(job.id)).toMatchObject({ status: 'succeeded' });

    const [email] = await inbox.waitFor('report-owner@example.com', 1, 30_000);

    expect(email?.subject).toBe(`Conveyor: job ${job.id} succeeded`);
    // PUBLIC_BASE_URL defaults to http://127.0.0.1:3000; the stack's gateway listens elsewhere, so the path
    // is taken from the link and asked of this gateway.
    const link = /Download: (\S+)/.exec(email?.text ?? '')?.[1] ?? '';
    expect(new URL(link).pathname).toBe(`/v1/reports/${job.id}/download`);
    const download = await fetch(`${stack.urls.gateway}${new URL(link).pathname}`, {
      headers: { authorization: 'Bearer shop-key' },
    });
    expect(download.status).toBe(200);
    expect((await download.text()).split('\r\n')[0]).toBe('id,customer_id,amount,currency,status,created_at');
    expect(inbox.to('report-owner@example.com')).toHaveLength(1);
  });

  it('an echo job with notify.email produces one email when it ends', async () => {
    const job = await submit('/v1/echo', { message: 'hello', notify: { email: 'echo-owner@example.com' } });
    expect(await finished(job.id)).toMatchObject({ status: 'succeeded' });

    const [email] = await inbox.waitFor('echo-owner@example.com', 1, 30_000);

    expect(email?.subject).toBe(`Conveyor: job ${job.id} succeeded`);
    expect(email?.text).toContain(`/v1/jobs/${job.id}`);
    expect(inbox.to('echo-owner@example.com')).toHaveLength(1);
  });
});

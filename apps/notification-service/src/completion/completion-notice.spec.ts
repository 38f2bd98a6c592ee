import { describe, expect, it } from '@jest/globals';
import type { JobEnded } from '#contracts';
import {
  emailOf,
  noticeOfJobEnded,
  noticeOfPayment,
  noticeOfReportReady,
  webhookPayloadOf,
} from './completion-notice.js';

const jobId = '0b9f7c1e-0000-4000-8000-0000000000aa';
const base = 'https://conveyor.example.com';
const ended = (over: Partial<JobEnded>): JobEnded => ({
  jobId,
  type: 'echo.run',
  status: 'succeeded',
  notify: { email: 'ops@example.com' },
  at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe(noticeOfJobEnded.name, () => {
  it.each([
    ['a succeeded report (report.ready has the download link)', { type: 'report.generate' }],
    ['a captured payment (payment.succeeded tells it)', { type: 'payment.charge' }],
    [
      'a declined payment (payment.failed tells it)',
      { type: 'payment.charge', status: 'failed' as const, error: { code: 'card_declined', message: 'no' } },
    ],
  ])('leaves %s to the domain event', (_, over) => {
    expect(noticeOfJobEnded(ended(over), 'acme')).toBeUndefined();
  });

  it.each([
    ['a failed report', { type: 'report.generate', status: 'failed' as const }],
    [
      'a payment that ran out of attempts',
      {
        type: 'payment.charge',
        status: 'failed' as const,
        error: { code: 'provider_unavailable', message: 'x' },
      },
    ],
    ['a cancelled payment', { type: 'payment.charge', status: 'cancelled' as const }],
    ['an echo job', { result: { message: 'hi', sha256: 'ab' } }],
  ])('tells about %s itself', (_, over) => {
    expect(noticeOfJobEnded(ended(over), 'acme')).toMatchObject({ jobId, tenant: 'acme' });
  });

  it('names the kind and leaves out a result too big for a notice', () => {
    expect(noticeOfJobEnded(ended({ result: { message: 'x'.repeat(5000) } }), undefined)).toEqual({
      jobId,
      tenant: undefined,
      type: 'echo.run',
      kind: 'echo',
      status: 'succeeded',
      downloadable: false,
    });
  });
});

describe(emailOf.name, () => {
  it('gives a finished report its job and download links', () => {
    const notice = noticeOfReportReady({
      jobId,
      tenant: 'acme',
      artifactId: '0b9f7c1e-0000-4000-8000-0000000000bb',
      format: 'csv',
      rows: 10,
      bytes: 400,
    });
    const email = emailOf(notice, base);
    expect(email.subject).toBe(`Conveyor: job ${jobId} succeeded`);
    expect(email.text).toContain(`${base}/v1/jobs/${jobId}`);
    expect(email.text).toContain(`${base}/v1/reports/${jobId}/download`);
  });

  it("says why a job failed, and gives no download link to what isn't a report", () => {
    const email = emailOf(
      noticeOfJobEnded(
        ended({ status: 'failed', error: { code: 'transient_failure', message: 'boom' } }),
        'a',
      )!,
      base,
    );
    expect(email.subject).toBe(`Conveyor: job ${jobId} failed`);
    expect(email.text).toContain('Error (transient_failure): boom');
    expect(email.text).not.toContain('/download');
  });
});

describe(webhookPayloadOf.name, () => {
  it('carries the job, its status, links and a result summary; for payments no customer or card', () => {
    const notice = noticeOfPayment(
      { jobId, tenant: 'acme', paymentId: jobId, amount: 1999, currency: 'EUR', customerId: 'cus_42' },
      'succeeded',
    );
    const payload = webhookPayloadOf(notice, base, new Date('2026-01-01T00:00:00Z'));
    expect(payload).toEqual({
      event: 'job.ended',
      jobId,
      kind: 'payment',
      type: 'payment.charge',
      status: 'succeeded',
      links: { self: `${base}/v1/jobs/${jobId}` },
      result: { paymentId: jobId, amount: 1999, currency: 'EUR' },
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(JSON.stringify(payload)).not.toContain('cus_42');
  });
});

import { Inject, Injectable } from '@nestjs/common';
import type { Notify } from '#contracts';
import { PermanentError, RetryableError } from '#messaging';
import { deliveryKey } from '../deliveries/delivery-log.js';
import { Notifier } from '../deliveries/notifier.js';
import { emailOf, webhookPayloadOf, type CompletionNotice } from './completion-notice.js';

export const PUBLIC_BASE_URL = Symbol('PUBLIC_BASE_URL');

/** Some channels of a completion notice failed; retried as long as one of them may still succeed. */
export class CompletionNotifyError extends RetryableError {
  constructor(readonly failures: readonly unknown[]) {
    super(`Completion notice failed: ${failures.map(describe).join('; ')}`, 'completion_notify_failed');
  }
}

export class CompletionNotifyRefusedError extends PermanentError {
  constructor(readonly failures: readonly unknown[]) {
    super(`Completion notice refused: ${failures.map(describe).join('; ')}`, codeOf(failures[0]));
  }
}

/**
 * Tells the submitter how a job ended on each channel `notify` names: at most one email and one webhook
 * per run of the job (dedupe keys `completion:<jobId>:<channel>`, and `…:r<n>` for its n-th replay),
 * whichever events report the run's end.
 */
@Injectable()
export class CompletionNotifier {
  constructor(
    @Inject(Notifier) private readonly notifier: Notifier,
    @Inject(PUBLIC_BASE_URL) private readonly publicBaseUrl: string,
  ) {}

  /** `run`: the job's run the events reporting its end belong to (their `replay-count`). */
  async notify(notice: CompletionNotice, notify: Notify, run: number): Promise<void> {
    const key = (channel: string) => ({
      key: deliveryKey(`completion:${notice.jobId}:${channel}`, run),
      jobId: notice.jobId,
      tenant: notice.tenant,
    });
    const sends: Promise<unknown>[] = [];
    if (notify.email !== undefined)
      sends.push(
        this.notifier.email(key('email'), { to: notify.email, ...emailOf(notice, this.publicBaseUrl) }),
      );
    if (notify.webhookUrl !== undefined)
      sends.push(
        this.notifier.webhook(key('webhook'), {
          url: notify.webhookUrl,
          payload: webhookPayloadOf(notice, this.publicBaseUrl, new Date()),
        }),
      );
    // Every channel is tried; one failing does not stop the other, and a retry skips what was sent.
    const failures: unknown[] = [];
    for (const settled of await Promise.allSettled(sends)) {
      if (settled.status === 'rejected') failures.push(settled.reason);
    }
    if (failures.length === 0) return;
    if (failures.every((f) => f instanceof PermanentError)) throw new CompletionNotifyRefusedError(failures);
    throw new CompletionNotifyError(failures);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeOf(error: unknown): string {
  return error instanceof PermanentError ? error.code : 'permanent_failure';
}

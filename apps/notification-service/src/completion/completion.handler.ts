import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  JobKinds,
  NotifyEvents,
  PaymentEvents,
  ReportEvents,
  type JobEnded,
  type PaymentOutcome,
  type ReportReady,
} from '#contracts';
import { EventPattern, type HandlerOptions, type JobContext } from '#messaging';
import { noticeOfJobEnded, noticeOfPayment, noticeOfReportReady } from './completion-notice.js';
import { CompletionNotifier } from './completion-notifier.js';

/** Subscriptions: each its own queue, no lifecycle events (they are not jobs), retried like notifications. */
const subscription: HandlerOptions = {
  lifecycle: false,
  retry: { maxAttempts: JobKinds.notification.maxAttempts },
  prefetch: 20,
};

/** Tells the submitter of a job that carried `notify` how it ended (API.md, submit routes' `notify`). */
@Controller()
export class CompletionHandler {
  constructor(@Inject(CompletionNotifier) private readonly notifier: CompletionNotifier) {}

  // Each event says which run of its job ended (its `replay-count`): a replay's end is told too.
  @EventPattern(ReportEvents.ready, subscription)
  async reportReady(@Payload() event: ReportReady, @Ctx() context: JobContext): Promise<void> {
    if (event.notify)
      await this.notifier.notify(noticeOfReportReady(event), event.notify, context.replayCount);
  }

  @EventPattern(PaymentEvents.succeeded, subscription)
  async paymentSucceeded(@Payload() event: PaymentOutcome, @Ctx() context: JobContext): Promise<void> {
    if (event.notify)
      await this.notifier.notify(noticeOfPayment(event, 'succeeded'), event.notify, context.replayCount);
  }

  @EventPattern(PaymentEvents.failed, subscription)
  async paymentFailed(@Payload() event: PaymentOutcome, @Ctx() context: JobContext): Promise<void> {
    if (event.notify)
      await this.notifier.notify(noticeOfPayment(event, 'failed'), event.notify, context.replayCount);
  }

  @EventPattern(NotifyEvents.jobEnded, subscription)
  async jobEnded(@Payload() event: JobEnded, @Ctx() context: JobContext): Promise<void> {
    const notice = noticeOfJobEnded(event, context.tenant);
    if (notice) await this.notifier.notify(notice, event.notify, context.replayCount);
  }
}

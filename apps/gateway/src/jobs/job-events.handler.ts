import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  JobEvents,
  type BatchedJobEvent,
  type JobCancelled,
  type JobEventBatch,
  type JobFailed,
  type JobProgressed,
  type JobRetrying,
  type JobStarted,
  type JobSucceeded,
} from '#contracts';
import { EventPattern, PermanentError, startConsumerSpan, type JobContext } from '#messaging';
import { JobTransitions, type LifecycleChange } from './job-transitions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type LifecycleEvent =
  JobStarted | JobProgressed | JobSucceeded | JobRetrying | JobFailed | JobCancelled | JobEventBatch;

/**
 * The workers' lifecycle events (`job.#`), applied to the job records; acked once they are stored. Workers
 * send them in batches (`job.batch`); single events are still understood.
 */
@Controller()
export class JobEventsHandler {
  constructor(@Inject(JobTransitions) private readonly transitions: JobTransitions) {}

  /**
   * A lifecycle event must never be given up on because the database was away: it is retried along the
   * tiers for as long as it takes (10,000 attempts ≈ 69 days at the last 10 min tier). Only an invalid one
   * (poison) is dead-lettered, at once. Found by the fault suite: with 10 attempts, an outage longer than
   * the tiers' sum dead-lettered events nobody reads and left their jobs `running` for good.
   */
  @EventPattern('job.#', {
    queue: 'job-events',
    lifecycle: false,
    prefetch: 500,
    retry: { maxAttempts: 10_000 },
  })
  async apply(@Payload() event: LifecycleEvent, @Ctx() message: JobContext): Promise<void> {
    // The payload was validated against the contract of message.type before we were called.
    if (message.type === JobEvents.batch.name) {
      await this.applyBatch((event as JobEventBatch).events);
      return;
    }
    // The event's message id makes a redelivered `started` count once; without one, count it.
    const eventId = message.messageId && UUID.test(message.messageId) ? message.messageId : randomUUID();
    await this.transitions.apply(changeOf(message.type, event, eventId));
  }

  /** A batch's entries, applied together; each with its own span (child of the worker's) when tracing is on. */
  private async applyBatch(entries: readonly BatchedJobEvent[]): Promise<void> {
    const spans = entries.map((entry) =>
      startConsumerSpan(entry.type, entry.traceparent, () => ({
        'messaging.system': 'rabbitmq',
        'conveyor.job_id': entry.body.jobId,
      })),
    );
    try {
      await this.transitions.applyAll(changesOfBatch(entries));
    } finally {
      for (const span of spans) span?.end();
    }
  }
}

/** A batch's entries as the changes {@link JobTransitions} applies. */
export function changesOfBatch(entries: readonly BatchedJobEvent[]): LifecycleChange[] {
  return entries.map((entry) => changeOf(entry.type, entry.body, entry.id, entry.run));
}

/** `run` is the batch entry's (single events carry none: applied whatever the job's run). */
function changeOf(type: string, event: unknown, eventId: string, run?: number): LifecycleChange {
  switch (type) {
    case JobEvents.started.name:
      return { type: 'started', event: event as JobStarted, eventId, run };
    case JobEvents.progressed.name:
      return { type: 'progress', event: event as JobProgressed, run };
    case JobEvents.succeeded.name:
      return { type: 'succeeded', event: event as JobSucceeded, run };
    case JobEvents.retrying.name:
      return { type: 'retrying', event: event as JobRetrying, run };
    case JobEvents.failed.name:
      return { type: 'failed', event: event as JobFailed, run };
    case JobEvents.cancelled.name:
      return { type: 'cancelled', event: event as JobCancelled, run };
    default:
      throw new PermanentError(`No transition for ${type}`, 'unknown_message_type');
  }
}

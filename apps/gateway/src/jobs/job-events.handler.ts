import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  JobEvents,
  type JobCancelled,
  type JobFailed,
  type JobProgressed,
  type JobRetrying,
  type JobStarted,
  type JobSucceeded,
} from '#contracts';
import { EventPattern, PermanentError, type JobContext } from '#messaging';
import { JobTransitions } from './job-transitions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type LifecycleEvent = JobStarted | JobProgressed | JobSucceeded | JobRetrying | JobFailed | JobCancelled;

/** The workers' lifecycle events (`job.#`), applied to the job records; acked once they are stored. */
@Controller()
export class JobEventsHandler {
  constructor(@Inject(JobTransitions) private readonly transitions: JobTransitions) {}

  @EventPattern('job.#', { queue: 'job-events', lifecycle: false, prefetch: 500, retry: { maxAttempts: 10 } })
  async apply(@Payload() event: LifecycleEvent, @Ctx() message: JobContext): Promise<void> {
    // The payload was validated against the contract of message.type before we were called.
    switch (message.type) {
      case JobEvents.started.name:
        return this.transitions.apply({
          type: 'started',
          event: event as JobStarted,
          // The event's message id makes a redelivered `started` count once; without one, count it.
          eventId: message.messageId && UUID.test(message.messageId) ? message.messageId : randomUUID(),
        });
      case JobEvents.progressed.name:
        return this.transitions.apply({ type: 'progress', event: event as JobProgressed });
      case JobEvents.succeeded.name:
        return this.transitions.apply({ type: 'succeeded', event: event as JobSucceeded });
      case JobEvents.retrying.name:
        return this.transitions.apply({ type: 'retrying', event: event as JobRetrying });
      case JobEvents.failed.name:
        return this.transitions.apply({ type: 'failed', event: event as JobFailed });
      case JobEvents.cancelled.name:
        return this.transitions.apply({ type: 'cancelled', event: event as JobCancelled });
      default:
        throw new PermanentError(`No transition for ${message.type}`, 'unknown_message_type');
    }
  }
}

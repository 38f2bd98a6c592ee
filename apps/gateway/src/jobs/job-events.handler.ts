import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  JobEvents,
  type JobFailed,
  type JobProgressed,
  type JobRetrying,
  type JobStarted,
  type JobSucceeded,
} from '#contracts';
import { EventPattern, PermanentError, type JobContext } from '#messaging';
import { JobTransitions } from './job-transitions.js';

type LifecycleEvent = JobStarted | JobProgressed | JobSucceeded | JobRetrying | JobFailed;

/** The workers' lifecycle events (`job.#`), applied to the job records. */
@Controller()
export class JobEventsHandler {
  constructor(@Inject(JobTransitions) private readonly transitions: JobTransitions) {}

  @EventPattern('job.#', { queue: 'job-events', lifecycle: false, prefetch: 200, retry: { maxAttempts: 10 } })
  async apply(@Payload() event: LifecycleEvent, @Ctx() message: JobContext): Promise<void> {
    switch (message.type) {
      case JobEvents.started.name:
        return this.transitions.started(
          event as JobStarted,
          message.messageId ?? `${event.jobId}:${message.attempt}`,
        );
      case JobEvents.progressed.name:
        return this.transitions.progressed(event as JobProgressed);
      case JobEvents.succeeded.name:
        return this.transitions.succeeded(event as JobSucceeded);
      case JobEvents.retrying.name:
        return this.transitions.retrying(event as JobRetrying);
      case JobEvents.failed.name:
        return this.transitions.failed(event as JobFailed);
      default:
        throw new PermanentError(`No transition for ${message.type}`, 'unknown_message_type');
    }
  }
}

import { Body, Controller, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SendNotification } from '#contracts';
import { ZodPipe } from '../http/zod.pipe.js';
import type { JobView } from '../jobs/job.view.js';
import { JobsService } from '../jobs/jobs.service.js';
import {
  SubmitCallerOf,
  SubmitJob,
  submitJob,
  submittableUnion,
  type SubmitCaller,
  type SubmittedBody,
} from '../jobs/submit-job.js';

export const SendNotificationBody = submittableUnion(SendNotification);

/** An email or a signed webhook, delivered by the notification service (API.md, "Notifications"). */
@ApiTags('notifications')
@Controller('v1/notifications')
export class NotificationsController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @SubmitJob('Send an email or a signed webhook', SendNotificationBody)
  async submit(
    @Body(new ZodPipe(SendNotificationBody)) body: SubmittedBody,
    @SubmitCallerOf() caller: SubmitCaller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobView> {
    return submitJob(this.jobs, caller, { route: 'notifications', kind: 'notification', body, reply });
  }
}

import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { JobKinds, NotificationCommands, type SendNotification } from '#contracts';
import { EventPattern, type JobContext } from '#messaging';
import { deliveryKey, type Channel } from '../deliveries/delivery-log.js';
import { Notifier } from '../deliveries/notifier.js';

/** A notification job's result (API.md, "Notifications"). */
export interface NotificationResult {
  readonly deliveryId: string;
  readonly channel: Channel;
}

/** `notification.send`: one email or one signed webhook per job, however often the job is delivered. */
@Controller()
export class SendNotificationHandler {
  constructor(@Inject(Notifier) private readonly notifier: Notifier) {}

  @EventPattern(NotificationCommands.send, {
    retry: { maxAttempts: JobKinds.notification.maxAttempts },
    prefetch: 50,
  })
  async send(@Payload() cmd: SendNotification, @Ctx() job: JobContext): Promise<NotificationResult> {
    const key = {
      key: deliveryKey(`send:${job.jobId}`, job.replayCount),
      jobId: job.jobId,
      tenant: job.tenant,
    };
    const delivered =
      cmd.channel === 'email'
        ? await this.notifier.email(key, { to: cmd.to, subject: cmd.subject, text: cmd.text })
        : await this.notifier.webhook(key, { url: cmd.url, payload: cmd.payload });
    return { deliveryId: delivered.deliveryId, channel: delivered.channel };
  }
}

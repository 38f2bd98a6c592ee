import { NotifyEvents, type JobEnded } from '#contracts';
import { replayCountMeta, type IncomingEnvelope } from './envelope.js';
import type { MessagePublisher } from './publisher.js';

/**
 * When the submission asked to be told (`notify`), publish `notify.job-ended` for the notification
 * service; confirmed before the delivery is acked, like the lifecycle event it accompanies.
 */
export async function notifyJobEnded(
  publisher: MessagePublisher,
  jobId: string,
  envelope: IncomingEnvelope,
  outcome: Pick<JobEnded, 'status' | 'result' | 'error'>,
): Promise<void> {
  if (!envelope.notify) return;
  const event: JobEnded = {
    jobId,
    type: envelope.type,
    notify: envelope.notify,
    at: new Date().toISOString(),
    ...outcome,
    ...(envelope.tenant === undefined ? {} : { tenant: envelope.tenant }),
  };
  await publisher.publish(NotifyEvents.jobEnded, event, {
    jobId,
    ...(envelope.tenant === undefined ? {} : { tenant: envelope.tenant }),
    ...(envelope.traceparent === undefined ? {} : { traceparent: envelope.traceparent }),
    ...replayCountMeta(envelope.replayCount),
  });
}

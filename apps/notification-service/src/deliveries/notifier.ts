import { Inject, Injectable } from '@nestjs/common';
import { EmailSender } from '../email/email.sender.js';
import { WebhookSecrets } from '../webhooks/webhook-secrets.js';
import { WebhookSender } from '../webhooks/webhook.sender.js';
import { DeliveryLog, type Delivered } from './delivery-log.js';

/** Whose notification it is and what makes it one: `send:<jobId>`, `completion:<jobId>:email`, … (per run) */
export interface DeliveryKey {
  readonly key: string;
  readonly jobId: string;
  readonly tenant: string | undefined;
}

/** Sends through the delivery log, so each key is sent once however often its message arrives. */
@Injectable()
export class Notifier {
  constructor(
    @Inject(DeliveryLog) private readonly log: DeliveryLog,
    @Inject(EmailSender) private readonly emails: EmailSender,
    @Inject(WebhookSender) private readonly webhooks: WebhookSender,
    @Inject(WebhookSecrets) private readonly secrets: WebhookSecrets,
  ) {}

  email(key: DeliveryKey, message: { to: string; subject: string; text: string }): Promise<Delivered> {
    return this.log.deliverOnce({ ...key, channel: 'email', target: message.to }, (deliveryId) =>
      this.emails.send({ ...message, deliveryId }),
    );
  }

  /** `payload` is serialised once; those exact bytes are signed and sent, on every attempt. */
  async webhook(key: DeliveryKey, hook: { url: string; payload: unknown }): Promise<Delivered> {
    const secret = this.secrets.secretFor(key.tenant);
    const body = JSON.stringify(hook.payload);
    return this.log.deliverOnce({ ...key, channel: 'webhook', target: shownUrl(hook.url) }, (deliveryId) =>
      this.webhooks.send({ url: hook.url, body, secret, deliveryId }),
    );
  }
}

/** The URL as the log keeps it: without credentials or the query string, which may carry tokens. */
function shownUrl(raw: string): string {
  if (!URL.canParse(raw)) return raw.slice(0, 200);
  const url = new URL(raw);
  return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`.slice(0, 2000);
}

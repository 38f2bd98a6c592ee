import type { OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { PermanentError, RetryableError } from '#messaging';
import { excerpt, type AnsweredFailure, type DeliveryResponse } from '../deliveries/delivery-response.js';
import { DELIVERY_HEADER } from '../webhooks/webhook-signature.js';

export interface EmailSenderOptions {
  /** SMTP_URL: `smtp://[user:pass@]host:port` or `smtps://…`. */
  readonly url: string;
  /** SMTP_FROM. */
  readonly from: string;
}

export interface EmailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** Also the Message-ID's local part, so a copy sent twice carries the same Message-ID. */
  readonly deliveryId: string;
}

/** The server refused the message for good (a 5xx reply to its envelope or data, an address it will not take). */
export class EmailRejectedError extends PermanentError implements AnsweredFailure {
  constructor(readonly response: DeliveryResponse) {
    super(`SMTP server refused the message: ${response.excerpt ?? response.status ?? ''}`, 'email_rejected');
  }
}

/** Connection, timeout, authentication, a 4xx reply or a 5xx not about the message: worth another try. */
export class SmtpUnavailableError extends RetryableError implements AnsweredFailure {
  constructor(
    readonly response: DeliveryResponse,
    options?: ErrorOptions,
  ) {
    super(`SMTP server unavailable: ${response.excerpt ?? ''}`, 'smtp_unavailable', options);
  }
}

/** Email through one SMTP server (Mailpit in development). */
export class EmailSender implements OnApplicationShutdown {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(private readonly options: EmailSenderOptions) {
    this.transport = nodemailer.createTransport({
      url: options.url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    } as SMTPTransport.Options);
  }

  async send(message: EmailMessage): Promise<DeliveryResponse> {
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: `<${message.deliveryId}@conveyor>`,
        headers: { [DELIVERY_HEADER]: message.deliveryId },
      });
      if (info.rejected.length > 0) throw new EmailRejectedError({ excerpt: excerpt(info.response) });
      return { status: replyCode(info.response), excerpt: excerpt(info.response) };
    } catch (error) {
      if (error instanceof EmailRejectedError) throw error;
      const {
        responseCode,
        response,
        message: text,
        code,
      } = error as {
        responseCode?: number;
        response?: string;
        message?: string;
        code?: string;
      };
      const answer: DeliveryResponse = {
        ...(responseCode === undefined ? {} : { status: responseCode }),
        excerpt: excerpt(response ?? text ?? String(error)),
      };
      if (refusesTheMessage(code, responseCode)) throw new EmailRejectedError(answer);
      throw new SmtpUnavailableError(answer, { cause: error });
    }
  }

  /**
   * After the transport's drain (beforeApplicationShutdown): Nest runs onModuleDestroy before it, and closing
   * here would fail the emails still being sent by in-flight deliveries.
   */
  onApplicationShutdown(): void {
    this.transport.close();
  }
}

/**
 * Whether an SMTP failure is the server's final word on this message: a 5xx reply to its envelope (the
 * recipients, the sender) or to its data, or an envelope without a usable recipient. A 5xx anywhere else is
 * about the server or our account, not the message: a refused login (535 after a password rotation), a
 * greeting that turns us away (554), a command it does not take. Those, like every 4xx, timeout and broken
 * connection, are retried: refusing them for good would dead-letter every email until the setting is fixed.
 */
function refusesTheMessage(code: string | undefined, responseCode: number | undefined): boolean {
  if (code === 'EENVELOPE') return responseCode === undefined || responseCode >= 500;
  if (code === 'EMESSAGE') return responseCode !== undefined && responseCode >= 500;
  return false;
}

function replyCode(response: string): number | undefined {
  const code = Number(/^\d{3}/.exec(response)?.[0]);
  return Number.isInteger(code) ? code : undefined;
}

import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { EmailRejectedError, EmailSender, SmtpUnavailableError } from '../src/email/email.sender.js';

/** An SMTP error reply as smtp-server sends it: `responseCode` and the text. */
function reply(responseCode: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode });
}

/**
 * What the sender makes of each way a real SMTP server (smtp-server, on 127.0.0.1) can say no: only a refusal
 * of the message itself is for good; one of our login or of the connection is retried.
 */
describe('EmailSender against a real SMTP server that refuses', () => {
  let server: SMTPServer | undefined;
  let sender: EmailSender | undefined;

  afterEach(async () => {
    sender?.onApplicationShutdown();
    const running = server;
    if (running)
      await new Promise<void>((resolve) => {
        running.close(() => {
          resolve();
        });
      });
    server = undefined;
    sender = undefined;
  });

  async function sendThrough(options: SMTPServerOptions, credentials = ''): Promise<unknown> {
    server = new SMTPServer({ logger: false, disabledCommands: ['STARTTLS'], ...options });
    const started = server;
    await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
    const { port } = started.server.address() as AddressInfo;
    sender = new EmailSender({ url: `smtp://${credentials}127.0.0.1:${port}`, from: 'conveyor@example.com' });
    return sender
      .send({ to: 'someone@example.com', subject: 'Hi', text: 'Hello', deliveryId: randomUUID() })
      .then(
        (answer) => answer,
        (error: unknown) => error,
      );
  }

  const noAuth: SMTPServerOptions = { authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'] };

  it('retries a refused login (535): the password may be rotated, the message is fine', async () => {
    const outcome = await sendThrough(
      {
        allowInsecureAuth: true,
        onAuth: (_auth, _session, callback) => {
          callback(reply(535, 'Authentication failed'));
        },
      },
      'conveyor:wrong@',
    );
    expect(outcome).toBeInstanceOf(SmtpUnavailableError);
    expect(outcome).toMatchObject({ response: { status: 535 } });
  });

  it('refuses for good a recipient the server will not take (550)', async () => {
    const outcome = await sendThrough({
      ...noAuth,
      onRcptTo: (_address, _session, callback) => {
        callback(reply(550, 'No such user here'));
      },
    });
    expect(outcome).toBeInstanceOf(EmailRejectedError);
    expect(outcome).toMatchObject({ response: { status: 550 } });
  });

  it('retries a recipient deferred for now (451, greylisting)', async () => {
    const outcome = await sendThrough({
      ...noAuth,
      onRcptTo: (_address, _session, callback) => {
        callback(reply(451, 'Try again later'));
      },
    });
    expect(outcome).toBeInstanceOf(SmtpUnavailableError);
  });

  it('refuses for good a message whose data the server rejects (554)', async () => {
    const outcome = await sendThrough({
      ...noAuth,
      onData: (stream, _session, callback) => {
        stream.resume();
        stream.on('end', () => {
          callback(reply(554, 'Message rejected as spam'));
        });
      },
    });
    expect(outcome).toBeInstanceOf(EmailRejectedError);
    expect(outcome).toMatchObject({ response: { status: 554 } });
  });

  it('sends, as a control: the same server without a refusal takes the message', async () => {
    const outcome = await sendThrough({
      ...noAuth,
      onData: (stream, _session, callback) => {
        stream.resume();
        stream.on('end', () => {
          callback();
        });
      },
    });
    expect(outcome).toMatchObject({ status: 250 });
  });
});

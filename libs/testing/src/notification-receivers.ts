import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './wait-for.js';

export interface ReceivedEmail {
  readonly from: string;
  readonly to: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  readonly subject: string;
  /** The text body, transfer encoding undone. */
  readonly text: string;
}

/** A real SMTP server on 127.0.0.1 that keeps every message it accepts (no TLS, no auth). */
export class SmtpInbox {
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    readonly messages: ReceivedEmail[],
  ) {}

  static async start(): Promise<SmtpInbox> {
    const messages: ReceivedEmail[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
          messages.push(parseEmail(Buffer.concat(chunks).toString('utf8'), from, to));
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        resolve();
      });
    });
    const port = (server.server.address() as AddressInfo).port;
    return new SmtpInbox(server, port, messages);
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ReceivedEmail[] {
    return this.messages.filter((m) => m.to.includes(address));
  }

  async waitFor(address: string, count = 1, timeoutMs = 15_000): Promise<ReceivedEmail[]> {
    return waitFor(() => this.to(address).length >= count && this.to(address), {
      timeoutMs,
      description: `${count} email(s) to ${address}`,
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

/** Headers, then the body, with quoted-printable or base64 undone (enough for nodemailer's text mails). */
function parseEmail(raw: string, from: string, to: string[]): ReceivedEmail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  let body = raw.slice(split + 4);
  const encoding = headers['content-transfer-encoding']?.toLowerCase();
  if (encoding === 'quoted-printable') {
    body = Buffer.from(
      body
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  } else if (encoding === 'base64') {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { from, to, headers, subject: headers.subject ?? '', text: body.replace(/\r\n/g, '\n').trimEnd() };
}

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * What the receiver answers to the n-th request (0-based) on a path; a promise delays the answer.
 * `abandoned` resolves when the client closes the request without waiting for the answer (its timeout).
 */
export type Answer = (n: number, path: string, abandoned: Promise<void>) => Reply | Promise<Reply>;

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** A webhook receiver on 127.0.0.1 that records every request and answers as scripted. */
export class WebhookReceiver {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly requests: ReceivedRequest[],
  ) {}

  static async start(answer: Answer = () => ({ status: 200, body: 'ok' })): Promise<WebhookReceiver> {
    const requests: ReceivedRequest[] = [];
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      const abandoned = new Promise<void>((resolve) => {
        res.once('close', () => {
          if (!res.writableFinished) resolve();
        });
      });
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        const n = requests.filter((r) => r.url === path).length;
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        void Promise.resolve(answer(n, path, abandoned)).then((reply) => {
          if (res.destroyed) return; // the client gave up: nobody to answer
          res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
          res.end(reply.body ?? '');
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new WebhookReceiver(server, (server.address() as AddressInfo).port, requests);
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.url === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

/**
 * A TCP listener nothing may reach: on every interface (IPv4 and IPv6) of one port, counting connections.
 * An SSRF test points hostile URLs at it and expects the count to stay 0.
 */
export class ConnectionCanary {
  private constructor(
    private readonly server: TcpServer,
    readonly port: number,
    private readonly counter: { connections: number },
  ) {}

  get connections(): number {
    return this.counter.connections;
  }

  static async start(): Promise<ConnectionCanary> {
    const counter = { connections: 0 };
    const server = createTcpServer((socket) => {
      counter.connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
    return new ConnectionCanary(server, (server.address() as AddressInfo).port, counter);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

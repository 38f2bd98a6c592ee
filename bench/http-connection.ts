import { connect, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/**
 * The bench's load driver: one keep-alive HTTP/1.1 connection that sends a prepared request and reads
 * the answer's status and body (responses with Content-Length only, which is what the gateway sends).
 * It shares the two cores with the system it measures, so it does as little as a client can: one write
 * per request, no header objects, no streams. Node's `http` client cost ~0.08 ms of CPU per request here,
 * about a tenth of everything a job costs.
 */
export class HttpConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting?: { resolve: (status: number) => void; reject: (error: Error) => void };

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received(chunk);
    });
    socket.on('error', (error) => {
      this.fail(error);
    });
    socket.on('close', () => {
      this.fail(new Error('connection closed'));
    });
  }

  static open(url: URL): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.off('error', reject);
        resolve(new HttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** A whole request (head and body) as bytes, for {@link send}. */
  static request(method: string, url: URL, headers: Record<string, string>, body: string): Buffer {
    const head = [
      `${method} ${url.pathname} HTTP/1.1`,
      `host: ${url.host}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      `content-length: ${Buffer.byteLength(body)}`,
    ];
    return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
  }

  /** Sends the request and resolves with the answer's status once its whole body has arrived. */
  send(request: Buffer): Promise<number> {
    if (this.waiting) return Promise.reject(new Error('one request at a time per connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf(HEADER_END);
    if (headEnd === -1) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const length = CONTENT_LENGTH.exec(head);
    if (!length?.[1]) {
      this.fail(new Error(`answer without Content-Length: ${head.split('\r\n')[0] ?? ''}`));
      return;
    }
    const total = headEnd + HEADER_END.length + Number(length[1]);
    if (this.buffered.length < total) return;
    const status = Number(head.slice(9, 12));
    this.buffered = this.buffered.subarray(total);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(status);
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}

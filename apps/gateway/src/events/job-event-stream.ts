import type { ServerResponse } from 'node:http';
import { TERMINAL_STATUSES } from '#contracts';
import type { JobEntity } from '../jobs/job.entity.js';
import { toJobView } from '../jobs/job.view.js';
import { SECURITY_HEADERS } from '../http/security-headers.js';

const HEARTBEAT_MS = 15_000;

/**
 * One client's `GET /v1/jobs/:id/events` (API.md): `id:` is the job's own sequence number, `event:` is
 * `status` when the status changed since the last event sent (or for the first one) and `progress`
 * otherwise. Rows arrive from the initial read and from change notifications in any order; only a higher
 * sequence number than the last one sent goes out, so nothing repeats and nothing moves backwards. The
 * stream ends after a terminal status. Intermediate changes that happened between two reads are folded
 * into the later state (what a client needs is the latest one, with its number).
 */
export class JobEventStream {
  private lastSeq: number;
  private lastStatus: string | undefined;
  private ended = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onEnd: (() => void)[] = [];

  constructor(
    private readonly response: ServerResponse,
    lastEventId: number | undefined,
  ) {
    this.lastSeq = lastEventId ?? -1;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    // Reconnect quickly after a dropped connection (EventSource honours it).
    response.write('retry: 1000\n\n');
    this.heartbeat = setInterval(() => {
      response.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    response.once('close', () => {
      this.end();
    });
    // A client that left while the job was looked up has closed already: that 'close' came and went, and
    // without this the stream, its heartbeat and its watch would live on until the job finished.
    if (response.destroyed) this.end();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Runs when the stream ends, whoever ends it. */
  onClose(callback: () => void): void {
    if (this.ended) callback();
    else this.onEnd.push(callback);
  }

  /** Sends the job's state if it is newer than what the client has; ends after a terminal status. */
  offer(job: JobEntity): void {
    if (this.ended) return;
    const seq = Number(job.seq);
    const terminal = TERMINAL_STATUSES.includes(job.status);
    if (seq > this.lastSeq) {
      const type = this.lastStatus === undefined || this.lastStatus !== job.status ? 'status' : 'progress';
      this.response.write(`id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify(toJobView(job))}\n\n`);
      this.lastSeq = seq;
      this.lastStatus = job.status;
    }
    // Terminal and nothing newer can follow: a client resuming past the end gets an empty stream.
    if (terminal) this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    if (!this.response.writableEnded) this.response.end();
    for (const callback of this.onEnd.splice(0)) callback();
  }
}

import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { KEY } from './fault-env.js';

export type JobKind = 'echo' | 'payment';

/** One HTTP request's fate: a status, or a client-side timeout, or a connection error. */
export interface Outcome {
  readonly kind: JobKind;
  readonly status: number | 'timeout' | 'error';
  /** When it was sent, in ms since the traffic started. */
  readonly at: number;
  readonly ms: number;
  readonly id?: string;
  readonly retryAfter?: string;
  readonly amount?: number;
}

/** Every request gets this long; a request still unanswered by then counts as a failure, never a hang. */
export const CLIENT_TIMEOUT_MS = 5000;

/**
 * Submits jobs through the gateway from `concurrency` clients and records every answer: the `202`s are
 * the jobs the platform promised to run, which the scenario later looks for in Postgres.
 */
export class Traffic {
  readonly outcomes: Outcome[] = [];
  private readonly agent: Agent;
  /** Epoch ms when the traffic started (every `at` is relative to it). */
  readonly startedAt = Date.now();
  private seq = 0;
  private stopped = false;
  private loops: Promise<void> | undefined;

  constructor(
    private readonly gateway: string,
    private readonly options: {
      readonly concurrency: number;
      readonly paymentShare?: number;
      /** At most this many requests per second in all (paced from the start); unpaced when unset. */
      readonly ratePerSecond?: number;
    },
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Sends until {@link stop} (or until `limit` requests are sent). */
  start(limit = Number.POSITIVE_INFINITY): this {
    this.loops = Promise.all(
      Array.from({ length: this.options.concurrency }, async () => {
        while (!this.stopped && this.seq < limit) {
          const n = this.seq++;
          if (this.options.ratePerSecond !== undefined) {
            await pause(this.startedAt + (n * 1000) / this.options.ratePerSecond - Date.now());
          }
          const kind: JobKind = Math.random() < (this.options.paymentShare ?? 0) ? 'payment' : 'echo';
          const outcome = await this.submit(kind, n);
          this.outcomes.push(outcome);
          // A client that was refused (gateway down, 503) backs off a little instead of spinning.
          if (typeof outcome.status !== 'number' || outcome.status >= 500) await pause(100);
        }
      }),
    ).then(() => undefined);
    return this;
  }

  /** Resolves when every client has sent its last request and got its answer. */
  async finished(): Promise<void> {
    await this.loops;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loops;
    this.agent.destroy();
  }

  accepted(kind?: JobKind): Outcome[] {
    return this.outcomes.filter((o) => o.status === 202 && (kind === undefined || o.kind === kind));
  }

  /** Answers by status (`202`, `503`, `timeout`, `error`, ...). */
  statusCounts(from = 0, to = Number.POSITIVE_INFINITY): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const o of this.outcomes) {
      if (o.at < from || o.at >= to) continue;
      counts[String(o.status)] = (counts[String(o.status)] ?? 0) + 1;
    }
    return counts;
  }

  /** `202`s per second among the requests sent in [from, to). */
  acceptedPerSecond(from: number, to: number): number {
    const n = this.outcomes.filter((o) => o.status === 202 && o.at >= from && o.at < to).length;
    return n / Math.max(0.001, (to - from) / 1000);
  }

  private submit(kind: JobKind, n: number): Promise<Outcome> {
    const amount = kind === 'payment' ? paymentAmount(n) : undefined;
    const body = JSON.stringify(
      kind === 'echo'
        ? { message: `fault-${n}` }
        : { amount, currency: 'EUR', customerId: `cus_${n % 500}`, description: `fault ${n}` },
    );
    const gateway = new URL(this.gateway);
    const at = this.elapsedMs;
    const sent = Date.now();
    return new Promise((resolve) => {
      let settled = false;
      const done = (o: Omit<Outcome, 'kind' | 'at' | 'ms' | 'amount'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ kind, at, ms: Date.now() - sent, ...(amount === undefined ? {} : { amount }), ...o });
      };
      const req = request(
        {
          agent: this.agent,
          host: gateway.hostname,
          port: gateway.port,
          path: kind === 'echo' ? '/v1/echo' : '/v1/payments',
          method: 'POST',
          headers: {
            authorization: `Bearer ${KEY}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(kind === 'payment' ? { 'idempotency-key': randomUUID() } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', () => {
            done({ status: 'error' });
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const retryAfter = res.headers['retry-after'];
            let id: string | undefined;
            if (status === 202) {
              try {
                id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string }).id;
              } catch {
                id = undefined;
              }
            }
            done({
              status,
              ...(id === undefined ? {} : { id }),
              ...(retryAfter === undefined ? {} : { retryAfter }),
            });
          });
        },
      );
      const timer = setTimeout(() => {
        done({ status: 'timeout' });
        req.destroy();
      }, CLIENT_TIMEOUT_MS);
      req.on('error', () => {
        done({ status: 'error' });
      });
      req.end(body);
    });
  }
}

/**
 * Mostly plain captures, some `…02` declines and `…03` "fails twice, then succeeds" (API.md, sandbox
 * rules), so retries and permanent failures happen while processes die.
 */
function paymentAmount(n: number): number {
  const cents = n % 10 === 0 ? 2 : n % 10 === 1 ? 3 : 10 + (n % 80);
  return 1000 + cents + (n % 50) * 100;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

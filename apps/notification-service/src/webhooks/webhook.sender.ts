import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { PermanentError, RetryableError } from '#messaging';
import { excerpt, type AnsweredFailure, type DeliveryResponse } from '../deliveries/delivery-response.js';
import {
  DELIVERY_HEADER,
  DELIVERY_SIGNATURE_HEADER,
  SIGNATURE_HEADER,
  signDelivery,
  signWebhook,
} from './webhook-signature.js';
import {
  systemResolver,
  vetTarget,
  type ResolvedAddress,
  type Resolver,
  type VettedTarget,
} from './webhook-target.js';

export interface WebhookSenderOptions {
  /** `host:port` entries allowed although they resolve to internal addresses (WEBHOOK_ALLOWLIST). */
  readonly allowlist: ReadonlySet<string>;
  /** The whole call: resolving, connecting, sending and the response head (WEBHOOK_TIMEOUT). */
  readonly timeoutMs: number;
  readonly resolve?: Resolver;
}

export interface WebhookRequest {
  readonly url: string;
  /** The exact bytes signed and sent. */
  readonly body: string;
  readonly secret: string;
  /** Stable across retries of one delivery: receivers dedupe on it. */
  readonly deliveryId: string;
}

/** A 3xx: redirects are never followed (the next hop was never vetted). */
export class WebhookRedirectedError extends PermanentError implements AnsweredFailure {
  constructor(readonly response: DeliveryResponse) {
    super(`Webhook receiver answered ${response.status} (redirects are not followed)`, 'webhook_redirected');
  }
}

/** A 4xx: the receiver refuses this request; sending it again will not change that. */
export class WebhookRejectedError extends PermanentError implements AnsweredFailure {
  constructor(readonly response: DeliveryResponse) {
    super(`Webhook receiver answered ${response.status}: ${response.excerpt ?? ''}`, 'webhook_rejected');
  }
}

/** A 5xx, a timeout or a connection failure: retried with backoff. */
export class WebhookUnavailableError extends RetryableError implements AnsweredFailure {
  constructor(
    message: string,
    code: 'webhook_unavailable' | 'webhook_timeout' | 'webhook_unreachable',
    readonly response: DeliveryResponse = {},
    options?: ErrorOptions,
  ) {
    super(message, code, options);
  }
}

/** Bytes of the response body read for the excerpt; the rest is never read. */
const BODY_PEEK_BYTES = 1024;

/**
 * POSTs signed JSON to a webhook that passed {@link vetTarget}, connecting only to the addresses vetted
 * (Host and SNI still name the host), following no redirect, within one deadline.
 */
export class WebhookSender {
  private readonly resolve: Resolver;

  constructor(private readonly options: WebhookSenderOptions) {
    this.resolve = options.resolve ?? systemResolver;
  }

  /** Resolves with the receiver's answer on a 2xx; throws a permanent or retryable error otherwise. */
  async send(webhook: WebhookRequest): Promise<DeliveryResponse> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const target = await raceDeadline(vetTarget(webhook.url, this.options.allowlist, this.resolve), deadline);
    const t = Math.floor(Date.now() / 1000);
    let answer: DeliveryResponse & { status: number };
    try {
      answer = await post(
        target,
        webhook,
        {
          [SIGNATURE_HEADER.toLowerCase()]: signWebhook(webhook.secret, webhook.body, t),
          [DELIVERY_SIGNATURE_HEADER.toLowerCase()]: signDelivery(
            webhook.secret,
            webhook.deliveryId,
            webhook.body,
            t,
          ),
        },
        deadline,
      );
    } catch (error) {
      if (deadline.aborted)
        throw new WebhookUnavailableError(
          `Webhook receiver did not answer within ${this.options.timeoutMs} ms`,
          'webhook_timeout',
          {},
          { cause: error },
        );
      const reason = error instanceof Error ? error.message : String(error);
      throw new WebhookUnavailableError(
        `Webhook receiver unreachable: ${excerpt(reason)}`,
        'webhook_unreachable',
        {},
        {
          cause: error,
        },
      );
    }
    if (answer.status >= 200 && answer.status < 300) return answer;
    if (answer.status >= 300 && answer.status < 400) throw new WebhookRedirectedError(answer);
    if (answer.status >= 400 && answer.status < 500) throw new WebhookRejectedError(answer);
    throw new WebhookUnavailableError(
      `Webhook receiver answered ${answer.status}: ${answer.excerpt ?? ''}`,
      'webhook_unavailable',
      answer,
    );
  }
}

function post(
  target: VettedTarget,
  webhook: WebhookRequest,
  signatures: Record<string, string>,
  signal: AbortSignal,
): Promise<DeliveryResponse & { status: number }> {
  const { url } = target;
  const body = Buffer.from(webhook.body, 'utf8');
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        protocol: url.protocol,
        host: target.hostname,
        port: target.port,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'Conveyor-Webhooks/1',
          ...signatures,
          [DELIVERY_HEADER.toLowerCase()]: webhook.deliveryId,
        },
        // The vetted addresses and nothing else: Node would otherwise resolve the name again.
        lookup: pinnedLookup(target.addresses),
        ...(url.protocol === 'https:' && isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
        // A fresh connection per delivery: a pooled socket could belong to an earlier resolution.
        agent: false,
        signal,
      },
      (res) => {
        readExcerpt(res).then((text) => {
          resolve({ status: res.statusCode ?? 0, excerpt: text });
        }, reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** Reads at most {@link BODY_PEEK_BYTES} of the body, then drops the connection. */
function readExcerpt(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      res.destroy();
      resolve(excerpt(Buffer.concat(chunks).subarray(0, BODY_PEEK_BYTES).toString('utf8')));
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= BODY_PEEK_BYTES) done();
    });
    res.once('end', done);
    // The status is what counts; a body cut short still leaves what was read.
    res.once('error', done);
    res.once('aborted', done);
  });
}

/** A `lookup` for net.connect that answers with the already vetted addresses. */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0];
    if (!first) {
      callback(new Error('no vetted address'), '', 4);
      return;
    }
    if (options.all) {
      // Node's happy-eyeballs connect asks for every address.
      (callback as unknown as (err: null, all: { address: string; family: number }[]) => void)(
        null,
        addresses.map((a) => ({ address: a.address, family: a.family })),
      );
      return;
    }
    callback(null, first.address, first.family);
  };
}

async function raceDeadline<T>(work: Promise<T>, deadline: AbortSignal): Promise<T> {
  if (deadline.aborted) throw resolveTimedOut();
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        onAbort = () => {
          reject(resolveTimedOut());
        };
        deadline.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) deadline.removeEventListener('abort', onAbort);
  }
}

function resolveTimedOut(): WebhookUnavailableError {
  return new WebhookUnavailableError('Webhook host did not resolve in time', 'webhook_timeout');
}

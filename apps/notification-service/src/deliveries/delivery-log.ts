import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { errorCodeOf, errorMessageOf, PermanentError, StillRunningError } from '#messaging';
import { responseOf, type DeliveryResponse } from './delivery-response.js';

export type Channel = 'email' | 'webhook';

/** What one delivery is: its dedupe key, and what the log shows about it. */
export interface DeliverySpec {
  /** Same key, same delivery: `send:<jobId>`, `completion:<jobId>:<channel>` (see {@link deliveryKey}). */
  readonly key: string;
  readonly jobId: string;
  readonly tenant: string | undefined;
  readonly channel: Channel;
  /** The address or URL as shown in the log (no credentials: the webhook guard refuses URLs with any). */
  readonly target: string;
}

export interface Delivered {
  readonly deliveryId: string;
  readonly channel: Channel;
  /** true: it had been sent before, by an earlier delivery of the message; nothing was sent now. */
  readonly alreadySent: boolean;
}

/**
 * Another delivery of the same message is sending it right now; this one comes back later. A command's
 * delivery is handed back as a lease, using up no attempt (a crashed worker's claim lapses meanwhile).
 */
export class DeliveryInProgressError extends StillRunningError {
  constructor(readonly key: string) {
    super(`Delivery ${key} is being sent by another worker`, 'delivery_in_progress');
  }
}

/**
 * The delivery failed for good earlier in this run (a 4xx, a refused address, a forbidden target): later
 * deliveries of the same message answer with that failure instead of sending again.
 */
export class DeliveryFailedError extends PermanentError {
  constructor(
    readonly key: string,
    recorded: { readonly code?: unknown; readonly message?: unknown } | null,
  ) {
    super(
      typeof recorded?.message === 'string' ? recorded.message : `Delivery ${key} failed`,
      typeof recorded?.code === 'string' ? recorded.code : 'delivery_failed',
    );
  }
}

/**
 * The dedupe key of a job's delivery on its run: `<base>` for the first run (as before runs were counted),
 * `<base>:r<run>` for a replay's. A replay is asked for because the first run failed: it sends again, under
 * a delivery id of its own, and its outcome is told even when the first run's was.
 */
export function deliveryKey(base: string, run: number): string {
  return run > 0 ? `${base}:r${run}` : base;
}

export interface DeliveryLogOptions {
  /**
   * How long a claim holds: longer than any send can take (the webhook timeout, SMTP's timeouts), so a
   * live send is never duplicated; a crashed worker's claim lapses after it.
   */
  readonly claimMs: number;
}

export const DELIVERY_LOG_OPTIONS = Symbol('DELIVERY_LOG_OPTIONS');

interface ClaimRow {
  readonly id: string;
  readonly status: 'pending' | 'sent' | 'failed';
  readonly claimed: boolean;
  /** Why it failed, for a `failed` one. */
  readonly error: { readonly code?: unknown; readonly message?: unknown } | null;
}

/**
 * The `deliveries` log, and the one way anything is sent: record the delivery (pending) and claim it, send,
 * record the outcome. A delivery already `sent` is answered from the log without sending again, and one
 * that `failed` for good with its failure: a retry of a completion notice whose other channel failed for
 * now must not send again to the receiver that refused it.
 *
 * The window that remains: a crash (or a lost database) after the SMTP server or the receiver took the
 * message but before `sent` is recorded makes the next delivery send it again — at least once, never
 * silently lost. Webhooks carry `Conveyor-Delivery: <id>` and emails a Message-ID built on the same id,
 * stable across those repeats, so receivers can drop the second copy.
 */
@Injectable()
export class DeliveryLog {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(DELIVERY_LOG_OPTIONS) private readonly options: DeliveryLogOptions,
  ) {}

  async deliverOnce(
    spec: DeliverySpec,
    send: (deliveryId: string) => Promise<DeliveryResponse>,
  ): Promise<Delivered> {
    const claim = await this.claim(spec);
    if (claim.status === 'sent') return { deliveryId: claim.id, channel: spec.channel, alreadySent: true };
    if (claim.status === 'failed') throw new DeliveryFailedError(spec.key, claim.error);
    if (!claim.claimed) throw new DeliveryInProgressError(spec.key);

    let response: DeliveryResponse;
    try {
      response = await send(claim.id);
    } catch (error) {
      await this.recordFailure(claim.id, error);
      throw error;
    }
    await this.db.query(
      `UPDATE notification.deliveries
          SET status = 'sent', sent_at = now(), claimed_until = NULL, error = NULL,
              response_status = $2, response_excerpt = $3, updated_at = now()
        WHERE id = $1`,
      [claim.id, response.status ?? null, response.excerpt ?? null],
    );
    return { deliveryId: claim.id, channel: spec.channel, alreadySent: false };
  }

  /**
   * Inserts the delivery if new, then claims it unless it has ended (sent, failed) or is claimed by a live
   * worker. One statement each, in autocommit: the pending row is committed before anything is sent.
   */
  private async claim(spec: DeliverySpec): Promise<ClaimRow> {
    await this.db.query(
      `INSERT INTO notification.deliveries (id, dedupe_key, job_id, tenant, channel, target)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dedupe_key) DO NOTHING`,
      [randomUUID(), spec.key, spec.jobId, spec.tenant ?? null, spec.channel, spec.target],
    );
    const claimed = await this.db.query<[ClaimRow[], number] | ClaimRow[]>(
      `UPDATE notification.deliveries
          SET status = 'pending', attempts = attempts + 1, updated_at = now(),
              claimed_until = now() + make_interval(secs => $2::double precision / 1000)
        WHERE dedupe_key = $1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
        RETURNING id, status, true AS claimed, NULL::jsonb AS error`,
      [spec.key, this.options.claimMs],
    );
    const rows = Array.isArray(claimed[0]) ? claimed[0] : (claimed as ClaimRow[]);
    if (rows[0]) return rows[0];
    const [current] = await this.db.query<ClaimRow[]>(
      `SELECT id, status, false AS claimed, error FROM notification.deliveries WHERE dedupe_key = $1`,
      [spec.key],
    );
    if (!current) throw new Error(`Delivery ${spec.key} vanished`);
    return current;
  }

  /** A permanent failure ends the delivery (`failed`); a transient one leaves it pending for the retry. */
  private async recordFailure(id: string, error: unknown): Promise<void> {
    const response = responseOf(error);
    await this.db.query(
      `UPDATE notification.deliveries
          SET status = $2, claimed_until = NULL, error = $3,
              response_status = $4, response_excerpt = $5, updated_at = now()
        WHERE id = $1 AND status <> 'sent'`,
      [
        id,
        error instanceof PermanentError ? 'failed' : 'pending',
        JSON.stringify({ code: errorCodeOf(error), message: errorMessageOf(error) }),
        response?.status ?? null,
        response?.excerpt ?? null,
      ],
    );
  }
}

import { createHash, randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  AmqpConnection,
  DeadLetterConsumer,
  Header,
  MESSAGING_OPTIONS,
  TopologyNames,
  waitTiers,
  type DeadLetter,
  type MessagingOptions,
} from '#messaging';
import { INT4_MAX, JobEventBatch, JobEvents } from '#contracts';
import { hasUnstorableEscape, isStorableText, storableJson, storableText } from '#database';
import { Metrics } from '#observability';
import { changesOfBatch } from '../jobs/job-events.handler.js';
import { JobTransitions } from '../jobs/job-transitions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A payload larger than this is kept as (truncated) text only: the archive is for reading and replaying. */
const MAX_STORED_PAYLOAD_BYTES = 1024 * 1024;
const MAX_RAW_BODY_CHARS = 64 * 1024;
/** One entry of a `job.batch`, validated on its own. */
const BATCH_ENTRY = JobEventBatch.shape.events.element;

/**
 * The gateway's end of every dead-letter queue, commands' and event subscriptions': each message is stored
 * in `gateway.dead_letters` once per message id (a redelivered dead letter is a no-op), and the job of a
 * command — if it names one — is marked `failed` in the same statement, in case the worker's `job.failed`
 * event never arrived. Acked after the commit. A batch of lifecycle events is applied instead, if it can be
 * (see {@link applyLifecycle}).
 */
@Injectable()
export class DeadLetterArchive implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeadLetterArchive.name);
  private readonly consumer: DeadLetterConsumer;
  /** The gateway's own lifecycle-event queue (`job.#`). */
  private readonly lifecycleQueue: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(AmqpConnection) connection: AmqpConnection,
    @Inject(MESSAGING_OPTIONS) options: MessagingOptions,
    @Inject(Metrics) metrics: Metrics,
    @Inject(JobTransitions) private readonly transitions: JobTransitions,
  ) {
    const names = new TopologyNames(options.prefix);
    this.lifecycleQueue = names.workQueue('gateway', 'job-events');
    // The DLQs themselves stay near empty (this archive drains them): what waits for a human is here.
    const pending = async (select: string) => {
      const rows = await this.db.query<{ queue: string; v: string | number }[]>(
        `SELECT queue, ${select} AS v FROM gateway.dead_letters
          WHERE replayed_at IS NULL AND discarded_at IS NULL GROUP BY queue`,
      );
      return new Map(rows.map((r) => [r.queue, Number(r.v)]));
    };
    metrics.labelledGauge(
      'conveyor_dead_letters_pending',
      'Archived dead letters neither replayed nor discarded, by the work queue they failed on',
      'queue',
      () => pending('count(*)'),
    );
    metrics.labelledGauge(
      'conveyor_dead_letter_oldest_age_seconds',
      'Age of the oldest pending archived dead letter, by the work queue it failed on',
      'queue',
      () => pending('extract(epoch FROM now() - min(dead_at))::float8'),
    );
    this.consumer = new DeadLetterConsumer(connection, { names, retryTiers: waitTiers(options) }, (letter) =>
      this.store(letter),
    );
  }

  onApplicationBootstrap(): void {
    this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }

  /** The DLQs this archive reads, with the work queue each belongs to. */
  get queues(): DeadLetterConsumer['queues'] {
    return this.consumer.queues;
  }

  async store(letter: DeadLetter): Promise<void> {
    if (letter.queue === this.lifecycleQueue && (await this.applyLifecycle(letter))) return;
    const { envelope } = letter;
    const headers = envelope.headers;
    const error = {
      message: stringHeader(headers[Header.errorMessage]) ?? 'dead-lettered without an error message',
      code: stringHeader(headers[Header.errorCode]) ?? 'unknown',
    };
    const body = storedBody(letter.content);
    const jobId = envelope.jobId && UUID.test(envelope.jobId) ? envelope.jobId : null;
    await this.db.query(
      `WITH stored AS (
         INSERT INTO gateway.dead_letters
           (id, message_id, job_id, tenant, queue, routing_key, payload, raw_body, headers, error, attempts,
            dead_reason, dead_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 date_trunc('milliseconds', clock_timestamp()))
         ON CONFLICT (message_id) DO NOTHING
         RETURNING job_id, error)
       UPDATE gateway.jobs j SET status = 'failed', error = stored.error, finished_at = now(),
              seq = j.seq + 1, updated_at = now()
         FROM stored
        WHERE j.id = stored.job_id AND $13 AND j.status NOT IN ('succeeded', 'failed', 'cancelled')`,
      [
        randomUUID(),
        storedMessageId(envelope.messageId) ?? fingerprint(letter),
        jobId,
        envelope.tenant === undefined ? null : storedLabel(envelope.tenant),
        letter.queue,
        storedLabel(envelope.type),
        body.payload === undefined ? null : JSON.stringify(body.payload),
        body.raw ?? null,
        storableJson(headers),
        JSON.stringify(error),
        Math.min(envelope.attempt, INT4_MAX),
        stringHeader(headers[Header.deadReason]) ?? null,
        // An event names a job too (a payment's outcome, a notice that it ended), but the job is not the
        // event's to fail: only a command that could not run fails its job.
        letter.commandQueue,
      ],
    );
  }

  /**
   * A lifecycle-event batch in the gateway's own DLQ is one its consumer could not get through: the broker
   * moved it there after ten deliveries ended without an ack (the gateway died holding it, ten times: a crash
   * loop), or the transport found it invalid. A valid one is applied here, once, outside that loop, since
   * its jobs would otherwise never move on; transitions are idempotent and monotonic, so a batch applied
   * before counts nothing twice. Only on its first delivery from the DLQ: one that failed here already (this
   * process died on it too, or Postgres was away) is archived like an invalid one, where a human sees it.
   *
   * One invalid event fails the contract of its whole batch, and the transport dead-letters the batch: the
   * valid events in it, other jobs' most likely, are applied here all the same, and the letter is archived
   * for the invalid ones. Returns whether the letter is done with (every event in it applied).
   */
  private async applyLifecycle(letter: DeadLetter): Promise<boolean> {
    if (letter.envelope.redelivered || letter.envelope.type !== JobEvents.batch.name) return false;
    let entries: unknown[];
    try {
      const body = JSON.parse(letter.content.toString('utf8')) as { events?: unknown };
      if (!Array.isArray(body.events)) return false;
      entries = body.events;
    } catch {
      return false;
    }
    const valid = entries.flatMap((entry) => {
      const parsed = BATCH_ENTRY.safeParse(entry);
      return parsed.success ? [parsed.data] : [];
    });
    if (valid.length > 0) {
      await this.transitions.applyAll(changesOfBatch(valid));
      this.logger.warn(
        `Applied ${valid.length} of ${entries.length} lifecycle event(s) that ${letter.deadLetterQueue} held ` +
          `(dead-lettered: ${stringHeader(letter.envelope.headers['x-first-death-reason']) ?? 'unknown'})`,
      );
    }
    return valid.length > 0 && valid.length === entries.length;
  }
}

/**
 * The body as JSON when it is JSON Postgres can hold (jsonb refuses escaped NUL characters and unpaired
 * surrogates), else as text.
 */
function storedBody(content: Buffer): { payload?: unknown; raw?: string } {
  const text = content.toString('utf8');
  if (content.length <= MAX_STORED_PAYLOAD_BYTES && !hasUnstorableEscape(text)) {
    try {
      return { payload: JSON.parse(text) as unknown };
    } catch {
      // Not JSON: kept as text below.
    }
  }
  const raw = text.replaceAll('\u0000', '\\u0000');
  return {
    raw:
      raw.length > MAX_RAW_BODY_CHARS
        ? `${raw.slice(0, MAX_RAW_BODY_CHARS)}… (${content.length} bytes in all)`
        : raw,
  };
}

function stringHeader(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? storableText(value) : undefined;
}

/** Longer labels (a tenant, a message type) are cut: a poison message's headers can be any size. */
const MAX_LABEL_CHARS = 255;

/**
 * Whatever a sender put in a message's own fields, stored: a letter whose INSERT fails is nacked and comes
 * back for ever, so nothing here may be refused. Text Postgres refuses is mended, and a long label is cut (a
 * header, unlike the AMQP properties, can be any size).
 */
function storedLabel(text: string): string {
  return storableText(text.length > MAX_LABEL_CHARS ? text.slice(0, MAX_LABEL_CHARS) : text);
}

/** A message id Postgres refuses stands in as its hash: mended, two ids could become one, and dedupe as one. */
function storedMessageId(messageId: string | undefined): string | undefined {
  if (messageId === undefined || messageId.length === 0) return undefined;
  return isStorableText(messageId)
    ? messageId
    : `mended:sha256:${createHash('sha256').update(messageId).digest('hex')}`;
}

/** A message without a message id is identified by what it is: the same bytes and headers, the same letter. */
function fingerprint(letter: DeadLetter): string {
  return `sha256:${createHash('sha256')
    .update(letter.content)
    .update(JSON.stringify(letter.envelope.headers))
    .update(letter.queue)
    .digest('hex')}`;
}

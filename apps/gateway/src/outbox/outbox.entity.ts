import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Notify } from '#contracts';

/**
 * A command to publish, written in the same statement as its job (`gateway.outbox`), deleted once the
 * broker confirmed it.
 */
@Entity({ schema: 'gateway', name: 'outbox' })
export class OutboxEntity {
  /** Also the message id on the wire: one id per publish intent, whoever publishes it. */
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'job_id' }) jobId!: string;
  @Column('text', { name: 'message_type' }) messageType!: string;
  @Column('jsonb') payload!: unknown;
  @Column('jsonb') meta!: OutboxMeta;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

export interface OutboxMeta {
  readonly tenant: string;
  readonly maxAttempts: number;
  readonly traceparent?: string;
  readonly notify?: Notify;
  /** How many times this job's message was replayed from the dead-letter archive. */
  readonly replayCount?: number;
}

export type OutboxMessage = Pick<OutboxEntity, 'id' | 'jobId' | 'messageType' | 'payload' | 'meta'>;

import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JobError, JobKind, JobStatus } from '#contracts';

/** A job as the gateway records it (`gateway.jobs`). Status changes go through JobTransitions, not saves. */
@Entity({ schema: 'gateway', name: 'jobs' })
export class JobEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') tenant!: string;
  @Column('text') kind!: JobKind;
  @Column('text') status!: JobStatus;
  @Column('smallint') progress!: number;
  @Column('integer') attempts!: number;
  @Column('integer', { name: 'last_attempt' }) lastAttempt!: number;
  @Column('integer', { name: 'max_attempts' }) maxAttempts!: number;
  @Column('jsonb') input!: Record<string, unknown>;
  @Column('jsonb', { nullable: true }) result!: unknown;
  @Column('jsonb', { nullable: true }) error!: JobError | null;
  @Column('boolean', { name: 'cancel_requested' }) cancelRequested!: boolean;
  /** How many times the job was replayed from its dead letter (its current run). */
  @Column('integer') replays!: number;
  @Column('timestamptz', { name: 'run_at', nullable: true }) runAt!: Date | null;
  @Column('uuid', { name: 'schedule_id', nullable: true }) scheduleId!: string | null;
  /** Increases with every visible change: the SSE event id. */
  @Column('bigint') seq!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}

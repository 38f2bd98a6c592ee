import { setTimeout as sleep } from 'node:timers/promises';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import { DataSource, In } from 'typeorm';
import { clientWithAnswerDeadline, dropConnection } from '#database';
import { errorMessageOf } from '#messaging';
import { JobEntity } from '../jobs/job.entity.js';
import type { GatewayConfig } from '../gateway.config.js';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';

export const JOB_CHANGES_CHANNEL = 'conveyor_job_changes';

const STALE_FIRST_DELAY_MS = 250;
const STALE_MAX_DELAY_MS = 5000;

/** Told the job's row as it is now, after a change (or a resync: the row may not have changed). */
export type JobListener = (job: JobEntity) => void;

/**
 * Which jobs changed, for whoever watches them here (SSE streams). One Postgres connection per gateway
 * process LISTENs to the jobs table's change notifications (see the migration), so every replica sees
 * every change whichever replica or worker made it, and reads the rows only for jobs someone watches.
 * After a lost connection it reconnects and re-reads every watched job, since notifications sent while
 * it was away are gone.
 *
 * A connection can also die without a word (a failover that left it open to the old server, a NAT or load
 * balancer that forgot it), and a connection that only listens would wait on it for hours: TCP says
 * nothing until it sends. So it is asked `SELECT 1` every `JOB_CHANGES_HEARTBEAT`, and one that has not
 * answered within that time is dropped like a lost one.
 *
 * A row read after a notification can fail while the connection stays up (the pool busy past its acquire
 * timeout, a statement cut off). No notification comes again for that change, and if it was the job's end
 * its streams would wait for good: the jobs are read again, after 250 ms doubling up to 5 s, until a read
 * succeeds.
 */
@Injectable()
export class JobChanges implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobChanges.name);
  private readonly watchers = new Map<string, Set<JobListener>>();
  private client?: pg.Client;
  private started = false;
  private stopped = false;
  private connected = false;
  /** Watched jobs whose read after a change failed: read again by {@link retryStale}. */
  private readonly stale = new Set<string>();
  private staleTimer?: NodeJS.Timeout;
  private staleDelay = STALE_FIRST_DELAY_MS;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.started) return; // the hook can run twice when a microservice is connected to the app
    this.started = true;
    void this.keepListening();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.staleTimer);
    // A polite end waits for the server's goodbye, which a silent connection never sends: wait a second at
    // most, then drop it.
    const client = this.client;
    if (!client) return;
    const ended = client.end().catch(() => undefined);
    if (!(await Promise.race([ended.then(() => true), sleep(1000).then(() => false)]))) {
      dropConnection(client);
    }
  }

  /** True while the LISTEN connection is up (changes reach the watchers). */
  get listening(): boolean {
    return this.connected;
  }

  /** Calls `listener` with the job's row after each change until the returned function is called. */
  watch(jobId: string, listener: JobListener): () => void {
    let set = this.watchers.get(jobId);
    if (!set) this.watchers.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.watchers.delete(jobId);
    };
  }

  private async keepListening(): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      let client: pg.Client | undefined;
      try {
        const ended = this.endOf((client = this.newClient()));
        await client.connect();
        await client.query(`LISTEN ${JOB_CHANGES_CHANNEL}`);
        this.connected = true;
        delay = 250;
        const stopHeartbeat = this.heartbeat(client);
        try {
          // Anything that changed while we were not listening.
          await this.refresh([...this.watchers.keys()]);
          await ended;
        } finally {
          stopHeartbeat();
        }
      } catch (error) {
        if (!this.isStopped()) this.logger.warn(`Job change listener: ${errorMessageOf(error)}`);
      }
      this.connected = false;
      // Whatever ended the loop above (a failed read, a failed LISTEN), this connection is done with.
      client?.end().catch(() => undefined);
      if (this.isStopped()) return;
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }

  /** Read through a call: `stopped` changes while the loop awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private newClient(): pg.Client {
    const Client = clientWithAnswerDeadline(this.config.JOB_CHANGES_HEARTBEAT);
    return (this.client = new Client({
      connectionString: this.config.DATABASE_URL,
      application_name: 'conveyor-gateway-listen',
      keepAlive: true,
      connectionTimeoutMillis: this.config.JOB_CHANGES_HEARTBEAT,
    }));
  }

  /** Wires the client's notifications to the watchers; resolves when its connection ends or fails. */
  private endOf(client: pg.Client): Promise<void> {
    client.on('notification', (message) => {
      if (message.channel !== JOB_CHANGES_CHANNEL || !message.payload) return;
      const watched = message.payload.split(',').filter((id) => this.watchers.has(id));
      if (watched.length > 0) this.refreshChanged(watched);
    });
    return new Promise((resolve) => {
      // A dropped connection is handled by the loop; never an unhandled 'error'.
      client.on('error', (error) => {
        if (!this.isStopped()) this.logger.warn(`Job change listener connection: ${error.message}`);
        resolve();
      });
      client.once('end', () => {
        resolve();
      });
    });
  }

  /**
   * Asks the connection to answer every `JOB_CHANGES_HEARTBEAT`. The client gives up on an answer that
   * takes as long and ends the connection, which the loop sees. Returns the stop.
   */
  private heartbeat(client: pg.Client): () => void {
    const timer = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => {
        if (!this.isStopped()) this.logger.warn(`Job change listener heartbeat: ${errorMessageOf(error)}`);
      });
    }, this.config.JOB_CHANGES_HEARTBEAT);
    return () => {
      clearInterval(timer);
    };
  }

  /** {@link refresh} for jobs a notification named; on failure they are read again later. */
  private refreshChanged(ids: readonly string[]): void {
    this.refresh(ids).then(
      () => {
        this.staleDelay = STALE_FIRST_DELAY_MS;
      },
      (error: unknown) => {
        for (const id of ids) this.stale.add(id);
        this.logger.warn(
          `Reading ${ids.length} changed job(s) failed, read again in ${this.staleDelay} ms: ${errorMessageOf(error)}`,
        );
        this.retryStale();
      },
    );
  }

  private retryStale(): void {
    if (this.staleTimer || this.stopped) return;
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      const ids = [...this.stale].filter((id) => this.watchers.has(id));
      this.stale.clear();
      this.staleDelay = Math.min(this.staleDelay * 2, STALE_MAX_DELAY_MS);
      if (ids.length > 0) this.refreshChanged(ids);
    }, this.staleDelay);
    this.staleTimer.unref();
  }

  /** Reads the jobs and hands each to its watchers. */
  private async refresh(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const jobs = await this.db.getRepository(JobEntity).findBy({ id: In([...ids]) });
    for (const job of jobs) {
      for (const listener of this.watchers.get(job.id) ?? []) listener(job);
    }
  }
}

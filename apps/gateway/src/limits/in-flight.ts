import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { errorMessageOf } from '#messaging';
import type { GatewayConfig } from '../gateway.config.js';
import { GATEWAY_CONFIG } from '../gateway.tokens.js';
import { TooManyRequestsError } from '../jobs/job-errors.js';

const REFRESH_MS = 1000;

/**
 * The cap on each tenant's jobs in flight (queued, running or retrying), `MAX_IN_FLIGHT_PER_TENANT`, so one
 * tenant's backlog cannot fill the workers' queues for everyone. Counts come from the database every
 * second (all replicas see all jobs; a partial index keeps it cheap), plus what this replica accepted since:
 * a burst across replicas can overshoot by at most what they accept within that second.
 */
@Injectable()
export class InFlightLimit implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(InFlightLimit.name);
  private counted = new Map<string, number>();
  private acceptedSince = new Map<string, number>();
  /** What was accepted before the count now under way began: still on top of the old count until it is in. */
  private acceptedBefore?: Map<string, number>;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.timer) return; // the hook can run twice when a microservice is connected to the app
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Throws 429 when the tenant is at its cap; otherwise counts one more job in flight. */
  admit(tenant: string): void {
    if (!this.tryAdmit(tenant)) {
      throw new TooManyRequestsError(
        `Tenant ${tenant} has ${this.current(tenant)} jobs in flight (the limit is ${this.config.MAX_IN_FLIGHT_PER_TENANT})`,
        1,
      );
    }
  }

  /** {@link admit} for a caller with nobody to answer 429 to (the schedule dispatcher): false at the cap. */
  tryAdmit(tenant: string): boolean {
    if (this.current(tenant) >= this.config.MAX_IN_FLIGHT_PER_TENANT) return false;
    this.acceptedSince.set(tenant, (this.acceptedSince.get(tenant) ?? 0) + 1);
    return true;
  }

  private current(tenant: string): number {
    return (
      (this.counted.get(tenant) ?? 0) +
      (this.acceptedSince.get(tenant) ?? 0) +
      (this.acceptedBefore?.get(tenant) ?? 0)
    );
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.count()
      .catch((error: unknown) => {
        this.logger.warn(`Jobs in flight not counted: ${errorMessageOf(error)}`);
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async count(): Promise<void> {
    // Accepted from here on may not be in this count: keep them on top of it. What was accepted before stays
    // on top of the old count until the new one is in (dropped at once, a tenant's cap opened up for as long
    // as the query took: found by the schedules' test, a scheduled job let through at the cap).
    this.acceptedBefore = this.acceptedSince;
    this.acceptedSince = new Map<string, number>();
    try {
      const rows = await this.db.query<{ tenant: string; n: string }[]>(
        `SELECT tenant, count(*) AS n FROM gateway.jobs
          WHERE status IN ('queued', 'running', 'retrying') GROUP BY tenant`,
      );
      this.counted = new Map(rows.map((r) => [r.tenant, Number(r.n)]));
    } catch (error) {
      // Not counted: what was accepted meanwhile stays on top of the old count.
      for (const [tenant, n] of this.acceptedBefore) {
        this.acceptedSince.set(tenant, (this.acceptedSince.get(tenant) ?? 0) + n);
      }
      throw error;
    } finally {
      this.acceptedBefore = undefined;
    }
  }
}

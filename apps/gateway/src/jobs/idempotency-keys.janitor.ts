import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { errorMessageOf } from '#messaging';

const EVERY_MS = 10 * 60_000;

/**
 * Deletes Idempotency-Keys past their 24 hours. Expiry itself does not depend on this (a stale key is
 * taken over when reused); this only keeps the table small.
 */
@Injectable()
export class IdempotencyKeysJanitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyKeysJanitor.name);
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onApplicationBootstrap(): void {
    if (this.timer) return; // the hook can run twice when a microservice is connected to the app
    this.timer = setInterval(() => {
      this.db
        .query(`DELETE FROM gateway.idempotency_keys WHERE created_at < now() - interval '24 hours'`)
        .catch((error: unknown) => {
          this.logger.warn(`Expired Idempotency-Keys not deleted: ${errorMessageOf(error)}`);
        });
    }, EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ArtifactStore } from '#artifacts';
import { errorMessageOf } from '#messaging';
import { REPORT_SETTINGS, type ReportSettings } from './report-settings.js';

/**
 * Deletes report files past their retention (`ARTIFACT_RETENTION`, 7 days by default), chunks and all,
 * once they have been expired for `ARTIFACT_DELETE_GRACE` (1 hour by default). The gateway answers
 * `410 Gone` from the expiry on, so no download starts after it; the grace lets one that started before it
 * read to its end instead of being cut short (its reader fails, and the client sees a short body).
 * Every replica may run it: the deletes are idempotent.
 */
@Injectable()
export class ArtifactJanitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ArtifactJanitor.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(ArtifactStore) private readonly artifacts: ArtifactStore,
    @Inject(REPORT_SETTINGS) private readonly settings: ReportSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (this.timer) return; // the hook can run twice when a microservice is connected to the app
    this.timer = setInterval(() => void this.sweep(), this.settings.artifactSweepIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<number> {
    try {
      const deleted = await this.artifacts.deleteExpired(
        new Date(Date.now() - this.settings.artifactDeleteGraceMs),
      );
      if (deleted > 0) this.logger.log(`Deleted ${deleted} expired report file(s)`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Expired report files not deleted: ${errorMessageOf(error)}`);
      return 0;
    }
  }
}

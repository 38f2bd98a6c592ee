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
 * Deletes report files past their retention (`ARTIFACT_RETENTION`, 7 days by default), chunks and all.
 * The gateway answers `410 Gone` for an expired file whether or not this has run yet; this frees the space.
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
      const deleted = await this.artifacts.deleteExpired();
      if (deleted > 0) this.logger.log(`Deleted ${deleted} expired report file(s)`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Expired report files not deleted: ${errorMessageOf(error)}`);
      return 0;
    }
  }
}

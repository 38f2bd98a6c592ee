import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { errorMessageOf } from '#messaging';
import type { Principal } from '../auth/principal.js';
import { JobsService } from '../jobs/jobs.service.js';
import { JobChanges } from './job-changes.js';
import { JobEventStream } from './job-event-stream.js';

/** The open SSE streams of this process: opened per request, all ended when the process stops. */
@Injectable()
export class JobStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(JobStreams.name);
  private readonly open = new Set<JobEventStream>();

  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(JobChanges) private readonly changes: JobChanges,
  ) {}

  /**
   * Streams the job (the caller has been checked): the current state unless the client has it already,
   * then every change.
   */
  async stream(
    principal: Principal,
    jobId: string,
    lastEventId: number | undefined,
    response: ServerResponse,
  ): Promise<void> {
    const stream = new JobEventStream(response, lastEventId);
    this.open.add(stream);
    // Watch before reading, so a change between the read and the watch is not missed.
    const unwatch = this.changes.watch(jobId, (job) => {
      stream.offer(job);
    });
    stream.onClose(() => {
      unwatch();
      this.open.delete(stream);
    });
    try {
      stream.offer(await this.jobs.get(principal, jobId));
    } catch (error) {
      this.logger.warn(`Stream of job ${jobId} ended: ${errorMessageOf(error)}`);
      stream.end();
    }
  }

  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.end();
  }
}

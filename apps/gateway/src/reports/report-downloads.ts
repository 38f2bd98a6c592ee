import { Inject, Injectable } from '@nestjs/common';
import { ArtifactNotFoundError, ArtifactStore, type ArtifactReader, type Artifact } from '#artifacts';
import type { Principal } from '../auth/principal.js';
import { GoneError, JobNotFoundError, JobStateConflictError } from '../jobs/job-errors.js';
import { JobsService } from '../jobs/jobs.service.js';

export interface Download {
  readonly artifact: Artifact;
  readonly stream: ArtifactReader;
}

/** A succeeded report's file, streamed from the artifact store; every other state says why not. */
@Injectable()
export class ReportDownloads {
  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(ArtifactStore) private readonly artifacts: ArtifactStore,
  ) {}

  async open(principal: Principal, jobId: string): Promise<Download> {
    const job = await this.jobs.get(principal, jobId);
    if (job.kind !== 'report') throw new JobNotFoundError(jobId);
    if (job.status !== 'succeeded') {
      const why =
        job.status === 'failed' || job.status === 'cancelled'
          ? `the report ${job.status}`
          : 'the report is not ready yet';
      throw new JobStateConflictError(jobId, `No download: ${why} (status ${job.status})`);
    }
    const artifact = await this.artifacts.findCompleteByJob(jobId);
    if (!artifact || artifact.expiresAt.getTime() <= Date.now()) {
      throw new GoneError(`The report's file has expired and was deleted`);
    }
    const stream = this.artifacts.openReader(artifact.id);
    // Looked up before the response starts: deleted since (the expiry sweep) is a 410, the database away a
    // 503, not a 200 whose body breaks off or a 500 from the streaming layer.
    // Its 'error' comes a tick after `opened` rejects: a stream given up on here keeps this listener.
    const quiet = () => undefined;
    stream.on('error', quiet);
    try {
      await stream.opened;
    } catch (error) {
      stream.destroy();
      if (error instanceof ArtifactNotFoundError)
        throw new GoneError(`The report's file has expired and was deleted`);
      throw error;
    }
    stream.off('error', quiet);
    return { artifact, stream };
  }
}

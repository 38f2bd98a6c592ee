import { describe, expect, it } from '@jest/globals';
import { ArtifactReader, type Artifact, type ArtifactStore, type ChunkSource } from '#artifacts';
import { isDatabaseUnavailable } from '#database';
import { readAll } from '#testing';
import type { Principal } from '../auth/principal.js';
import { GoneError } from '../jobs/job-errors.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { ReportDownloads } from './report-downloads.js';

const JOB_ID = 'a1b2c3d4-0000-4000-8000-000000000002';
const principal = { tenant: 'acme', scopes: new Set(['jobs:read']), actor: 'test' } as Principal;

/** A succeeded report whose file the store listed as complete, read through `source`. */
function downloads(source: ChunkSource): ReportDownloads {
  const jobs = { get: () => Promise.resolve({ id: JOB_ID, kind: 'report', status: 'succeeded' }) };
  const artifact = { id: 'art-1', expiresAt: new Date(Date.now() + 60_000), bytes: 5 } as Artifact;
  const artifacts = {
    findCompleteByJob: () => Promise.resolve(artifact),
    openReader: (id: string) => new ArtifactReader(id, source),
  };
  return new ReportDownloads(jobs as unknown as JobsService, artifacts as unknown as ArtifactStore);
}

describe(ReportDownloads.name, () => {
  it('streams a file it found complete', async () => {
    const { stream } = await downloads({
      completeSize: () => Promise.resolve(5),
      chunks: (from) => Promise.resolve(from === 0 ? [{ seq: 0, data: Buffer.from('hello') }] : []),
    }).open(principal, JOB_ID);
    expect((await readAll(stream)).toString()).toBe('hello');
  });

  // Before: open() returned the stream at once, and the failure came from the streaming layer as a 500.
  it('answers 410 for a file deleted between its lookup and the read (the expiry sweep)', async () => {
    await expect(
      downloads({ completeSize: () => Promise.resolve(undefined), chunks: () => Promise.resolve([]) }).open(
        principal,
        JOB_ID,
      ),
    ).rejects.toBeInstanceOf(GoneError);
  });

  it('fails with the database error (a 503) when the read cannot reach Postgres', async () => {
    const outcome = downloads({
      completeSize: () => Promise.reject(new Error('Connection terminated unexpectedly')),
      chunks: () => Promise.resolve([]),
    })
      .open(principal, JOB_ID)
      .catch((error: unknown) => error);
    expect(isDatabaseUnavailable(await outcome)).toBe(true);
  });
});

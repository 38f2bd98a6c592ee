import { randomBytes, randomUUID } from 'node:crypto';
import { finished, pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import {
  ArtifactConflictError,
  ArtifactCorruptedError,
  ArtifactNotFoundError,
  ArtifactsMigrations,
  ArtifactStore,
  type ArtifactWriter,
  type NewArtifact,
} from '#artifacts';
import { createDataSource, runMigrations } from '#database';
import { createTestDatabase, readAll, type TestDatabase } from '#testing';

describe(`${ArtifactStore.name} against the real Postgres`, () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let sut: ArtifactStore;

  beforeAll(async () => {
    database = await createTestDatabase('artifacts');
    dataSource = await createDataSource({
      url: database.url,
      schema: 'public',
      migrations: ArtifactsMigrations,
      applicationName: 'artifacts-int-spec',
    }).initialize();
    await runMigrations(dataSource, 'public');
    sut = new ArtifactStore(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  function newArtifact(overrides: Partial<NewArtifact> = {}): NewArtifact {
    return {
      jobId: randomUUID(),
      tenant: 'acme',
      contentType: 'text/csv',
      filename: 'report.csv',
      expiresAt: new Date(Date.now() + 3_600_000),
      chunkSize: 1000,
      ...overrides,
    };
  }

  /** `data` written in uneven pieces, so chunk boundaries never line up with writes. */
  async function write(writer: ArtifactWriter, data: Buffer): Promise<void> {
    const sizes = [1, 333, 2048, 17, 999];
    async function* pieces() {
      for (let offset = 0, i = 0; offset < data.length; i++) {
        const size = sizes[i % sizes.length]!;
        yield data.subarray(offset, offset + size);
        offset += size;
      }
    }
    await pipeline(pieces(), writer);
  }

  async function chunkRows(artifactId: string): Promise<{ seq: number; size: number }[]> {
    return dataSource.query(
      `SELECT seq, octet_length(data) AS size FROM artifacts.artifact_chunks WHERE artifact_id = $1 ORDER BY seq`,
      [artifactId],
    );
  }

  async function artifactCount(jobId: string): Promise<number> {
    const [row] = await dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM artifacts.artifacts WHERE job_id = $1`,
      [jobId],
    );
    return row!.n;
  }

  it('round-trips a multi-chunk file byte for byte, stored as chunkSize pieces', async () => {
    const data = randomBytes(10_500);
    const request = newArtifact();
    const writer = sut.createWriter(request);

    await write(writer, data);
    const artifact = await writer.complete({ rows: 42 });

    expect(artifact).toMatchObject({
      id: writer.artifactId,
      jobId: request.jobId,
      tenant: 'acme',
      contentType: 'text/csv',
      filename: 'report.csv',
      bytes: 10_500,
      status: 'complete',
      metadata: { rows: 42 },
      expiresAt: request.expiresAt,
    });
    expect(artifact.completedAt).toBeInstanceOf(Date);
    const chunks = await chunkRows(artifact.id);
    expect(chunks.map((c) => c.seq)).toEqual([...Array(11).keys()]);
    expect(chunks.map((c) => c.size)).toEqual([...Array<number>(10).fill(1000), 500]);

    const read = await readAll(sut.openReader(artifact.id));
    expect(read.equals(data)).toBe(true);
    expect(await sut.get(artifact.id)).toEqual(artifact);
    expect(await sut.findCompleteByJob(request.jobId)).toEqual(artifact);
  });

  it('streams the chunks in sequence order, one piece per stored chunk', async () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => String(i % 10)).join(''));
    const writer = sut.createWriter(newArtifact({ chunkSize: 100 }));
    await write(writer, data);
    const artifact = await writer.complete();

    const reader = sut.openReader(artifact.id, { chunksPerFetch: 3 });
    const received: Buffer[] = [];
    reader.on('data', (part: Buffer) => received.push(part));
    await finished(reader);

    expect(received).toHaveLength(50);
    expect(received.every((part) => part.length === 100)).toBe(true);
    expect(Buffer.concat(received).equals(data)).toBe(true);
  });

  it('keeps an artifact invisible until it is complete', async () => {
    const request = newArtifact();
    const writer = sut.createWriter(request);
    writer.write(randomBytes(2500));
    await new Promise((resolve) => writer.write(Buffer.alloc(0), resolve));

    expect(await sut.findCompleteByJob(request.jobId)).toBeUndefined();
    expect(await sut.get(writer.artifactId)).toMatchObject({ status: 'writing', bytes: 0 });
    await expect(readAll(sut.openReader(writer.artifactId))).rejects.toBeInstanceOf(ArtifactNotFoundError);

    await writer.complete();
    expect(await sut.findCompleteByJob(request.jobId)).toMatchObject({ bytes: 2500 });
  });

  it('abort deletes the artifact and its chunks', async () => {
    const request = newArtifact();
    const writer = sut.createWriter(request);
    await new Promise((resolve) => writer.write(randomBytes(3500), resolve));
    expect(await chunkRows(writer.artifactId)).toHaveLength(3);

    await writer.abort();

    expect(await sut.get(writer.artifactId)).toBeUndefined();
    expect(await chunkRows(writer.artifactId)).toEqual([]);
    expect(await artifactCount(request.jobId)).toBe(0);
  });

  it('deletes a partial artifact whose source failed mid-way', async () => {
    const request = newArtifact();
    const writer = sut.createWriter(request);
    async function* failing() {
      yield randomBytes(2500);
      throw new Error('cursor lost');
    }

    await expect(pipeline(failing(), writer)).rejects.toThrow('cursor lost');
    await writer.abort();

    expect(await artifactCount(request.jobId)).toBe(0);
    expect(await chunkRows(writer.artifactId)).toEqual([]);
  });

  it('rejects a second complete artifact for the same job and deletes the loser', async () => {
    const request = newArtifact();
    const first = sut.createWriter(request);
    const second = sut.createWriter(request);
    await write(first, Buffer.from('first'));
    await write(second, Buffer.from('second'));

    const winner = await first.complete();
    await expect(second.complete()).rejects.toBeInstanceOf(ArtifactConflictError);

    expect(await artifactCount(request.jobId)).toBe(1);
    expect(await sut.findCompleteByJob(request.jobId)).toEqual(winner);
    expect((await readAll(sut.openReader(winner.id))).toString()).toBe('first');
  });

  it('deleteIncompleteForJob removes unfinished artifacts of that job only', async () => {
    const request = newArtifact();
    const done = sut.createWriter(request);
    await write(done, Buffer.from('done'));
    await done.complete();
    const crashed = sut.createWriter(request);
    await new Promise((resolve) => crashed.write(randomBytes(1500), resolve));
    const otherJob = sut.createWriter(newArtifact());
    await new Promise((resolve) => otherJob.write(randomBytes(10), resolve));

    expect(await sut.deleteIncompleteForJob(request.jobId)).toBe(1);

    expect(await sut.get(crashed.artifactId)).toBeUndefined();
    expect(await sut.get(done.artifactId)).toMatchObject({ status: 'complete' });
    expect(await sut.get(otherJob.artifactId)).toMatchObject({ status: 'writing' });
    await otherJob.abort();
  });

  it('deleteExpired removes artifacts whose time is up, complete or not', async () => {
    const now = new Date();
    const expired = sut.createWriter(newArtifact({ expiresAt: new Date(now.getTime() - 1000) }));
    await write(expired, randomBytes(2500));
    await expired.complete();
    const stale = sut.createWriter(newArtifact({ expiresAt: now }));
    await new Promise((resolve) => stale.write(randomBytes(10), resolve));
    const fresh = sut.createWriter(newArtifact({ expiresAt: new Date(now.getTime() + 60_000) }));
    await write(fresh, randomBytes(10));
    await fresh.complete();

    expect(await sut.deleteExpired(now)).toBeGreaterThanOrEqual(2);

    expect(await sut.get(expired.artifactId)).toBeUndefined();
    expect(await chunkRows(expired.artifactId)).toEqual([]);
    expect(await sut.get(stale.artifactId)).toBeUndefined();
    expect(await sut.get(fresh.artifactId)).toMatchObject({ status: 'complete' });
  });

  it('fails a read whose artifact is deleted under it instead of ending as if whole', async () => {
    const writer = sut.createWriter(newArtifact({ chunkSize: 100 }));
    await write(writer, randomBytes(2000));
    const artifact = await writer.complete();
    const reader = sut.openReader(artifact.id, { chunksPerFetch: 1 });
    const iterator = reader[Symbol.asyncIterator]();
    await iterator.next();

    await dataSource.query(`DELETE FROM artifacts.artifacts WHERE id = $1`, [artifact.id]);

    await expect(
      (async () => {
        for (let step = await iterator.next(); !step.done; step = await iterator.next());
      })(),
    ).rejects.toBeInstanceOf(ArtifactCorruptedError);
  });

  it('fails to open an artifact that does not exist', async () => {
    await expect(readAll(sut.openReader(randomUUID()))).rejects.toBeInstanceOf(ArtifactNotFoundError);
  });

  it('migrates idempotently, so a second app listing the migration finds everything in place', async () => {
    const again = new ArtifactsMigrations[0]!();
    const runner = dataSource.createQueryRunner();
    try {
      await expect(again.up(runner)).resolves.toBeUndefined();
    } finally {
      await runner.release();
    }
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { ArtifactsMigrations, ArtifactStore, type NewArtifact } from '#artifacts';
import { createDataSource, runMigrations } from '#database';
import { createTestDatabase, type TestDatabase } from '#testing';
import { ArtifactJanitor } from '../src/reports/artifact-janitor.js';

describe(`${ArtifactJanitor.name} against the real Postgres`, () => {
  const hour = 3_600_000;
  let database: TestDatabase;
  let dataSource: DataSource;
  let store: ArtifactStore;

  beforeAll(async () => {
    database = await createTestDatabase('janitor');
    dataSource = await createDataSource({
      url: database.url,
      schema: 'public',
      migrations: ArtifactsMigrations,
      applicationName: 'janitor-int-spec',
    }).initialize();
    await runMigrations(dataSource, 'public');
    store = new ArtifactStore(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const janitor = (artifactDeleteGraceMs: number) =>
    new ArtifactJanitor(store, {
      artifactRetentionMs: hour,
      artifactSweepIntervalMs: 60_000,
      artifactDeleteGraceMs,
    });

  async function stored(expiresAt: Date, data: Buffer): Promise<string> {
    const artifact: NewArtifact = {
      jobId: randomUUID(),
      tenant: 'acme',
      contentType: 'text/csv',
      filename: 'report.csv',
      expiresAt,
      chunkSize: 100,
    };
    const writer = store.createWriter(artifact);
    await pipeline(Readable.from([data]), writer);
    return (await writer.complete()).id;
  }

  it('lets a download begun before the expiry read to its end, and deletes the file once the grace is over', async () => {
    const data = randomBytes(2000);
    const justExpired = await stored(new Date(Date.now() - 1000), data);
    const longExpired = await stored(new Date(Date.now() - 2 * hour), randomBytes(300));
    // A download that started before the expiry, one chunk in when the sweep comes.
    const iterator = store.openReader(justExpired, { chunksPerFetch: 1 })[Symbol.asyncIterator]();
    const read: Buffer[] = [];
    const first = await iterator.next();
    if (!first.done) read.push(first.value as Buffer);

    expect(await janitor(hour).sweep()).toBeGreaterThanOrEqual(1);

    for (let step = await iterator.next(); !step.done; step = await iterator.next())
      read.push(step.value as Buffer);
    expect(Buffer.concat(read).equals(data)).toBe(true);
    expect(await store.get(justExpired)).toMatchObject({ status: 'complete' });
    expect(await store.get(longExpired)).toBeUndefined();

    // Without a grace, the sweep deletes it as soon as it has expired.
    expect(await janitor(0).sweep()).toBeGreaterThanOrEqual(1);
    expect(await store.get(justExpired)).toBeUndefined();
  });
});

import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Artifact, ArtifactMetadata, ArtifactStatus, NewArtifact } from './artifact.js';
import { ArtifactConflictError } from './artifact-errors.js';
import { ArtifactReader, type ChunkSource, type StoredChunk } from './artifact-reader.js';
import { ArtifactWriter, type ChunkSink } from './artifact-writer.js';

export interface ReaderOptions {
  /** Chunks fetched per query (each up to the writer's chunk size); 4 by default. */
  readonly chunksPerFetch?: number;
}

interface ArtifactRow {
  id: string;
  job_id: string;
  tenant: string;
  content_type: string;
  filename: string;
  bytes: string;
  status: ArtifactStatus;
  metadata: ArtifactMetadata;
  created_at: Date;
  completed_at: Date | null;
  expires_at: Date;
}

const COLUMNS =
  'id, job_id, tenant, content_type, filename, bytes, status, metadata, created_at, completed_at, expires_at';

/** Expired artifacts are deleted this many at a time, so one statement never runs long. */
const EXPIRY_BATCH = 100;

/**
 * Files produced by jobs (report exports), kept in Postgres as ordered chunks (`artifacts.*`, all SQL
 * schema-qualified, so any app's DataSource works). Written as a stream by a worker, read as a stream by
 * the gateway; neither side ever holds a whole file.
 */
export class ArtifactStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * A stream for a new artifact of `artifact.jobId`. Write the file, then `complete()` (or `abort()`); a
   * writer that fails or is destroyed before finishing deletes what it wrote.
   */
  createWriter(artifact: NewArtifact): ArtifactWriter {
    const id = randomUUID();
    return new ArtifactWriter(id, new PostgresChunkSink(this.dataSource, id, artifact), artifact.chunkSize);
  }

  /** A stream of a complete artifact's bytes (errors with ArtifactNotFoundError otherwise). */
  openReader(artifactId: string, options: ReaderOptions = {}): ArtifactReader {
    const source: ChunkSource = {
      completeSize: async () => {
        const artifact = await this.get(artifactId);
        return artifact?.status === 'complete' ? artifact.bytes : undefined;
      },
      chunks: async (fromSeq, limit) => {
        const rows = await this.query<StoredChunk>(
          `SELECT seq, data FROM artifacts.artifact_chunks
            WHERE artifact_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
          [artifactId, fromSeq, limit],
        );
        return rows.records;
      },
    };
    return new ArtifactReader(artifactId, source, options.chunksPerFetch);
  }

  async get(artifactId: string): Promise<Artifact | undefined> {
    const { records } = await this.query<ArtifactRow>(
      `SELECT ${COLUMNS} FROM artifacts.artifacts WHERE id = $1`,
      [artifactId],
    );
    return records[0] && toArtifact(records[0]);
  }

  async findCompleteByJob(jobId: string): Promise<Artifact | undefined> {
    const { records } = await this.query<ArtifactRow>(
      `SELECT ${COLUMNS} FROM artifacts.artifacts WHERE job_id = $1 AND status = 'complete'`,
      [jobId],
    );
    return records[0] && toArtifact(records[0]);
  }

  /** Deletes the job's unfinished artifacts (left by a crashed or aborted attempt); returns how many. */
  async deleteIncompleteForJob(jobId: string): Promise<number> {
    const { affected } = await this.query(
      `DELETE FROM artifacts.artifacts WHERE job_id = $1 AND status = 'writing'`,
      [jobId],
    );
    return affected;
  }

  /** Deletes every artifact, complete or not, whose `expires_at` is not after `before`; returns how many. */
  async deleteExpired(before: Date = new Date()): Promise<number> {
    let total = 0;
    for (;;) {
      const { affected } = await this.query(
        `DELETE FROM artifacts.artifacts WHERE id IN (
           SELECT id FROM artifacts.artifacts WHERE expires_at <= $1 LIMIT ${EXPIRY_BATCH})`,
        [before],
      );
      total += affected;
      if (affected < EXPIRY_BATCH) return total;
    }
  }

  private query<T = never>(sql: string, params: unknown[]): Promise<QueryOutcome<T>> {
    return execute<T>(this.dataSource, sql, params);
  }
}

interface QueryOutcome<T> {
  readonly records: T[];
  readonly affected: number;
}

/** One statement on a pooled connection, with the row count that DataSource.query hides for DML. */
async function execute<T>(dataSource: DataSource, sql: string, params: unknown[]): Promise<QueryOutcome<T>> {
  const runner = dataSource.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return { records: result.records as T[], affected: result.affected ?? 0 };
  } finally {
    await runner.release();
  }
}

class PostgresChunkSink implements ChunkSink {
  constructor(
    private readonly dataSource: DataSource,
    private readonly id: string,
    private readonly artifact: NewArtifact,
  ) {}

  async begin(): Promise<void> {
    const { jobId, tenant, contentType, filename, expiresAt } = this.artifact;
    await execute(
      this.dataSource,
      `INSERT INTO artifacts.artifacts (id, job_id, tenant, content_type, filename, status, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'writing', $6)`,
      [this.id, jobId, tenant, contentType, filename, expiresAt],
    );
  }

  async append(seq: number, data: Buffer): Promise<void> {
    await execute(
      this.dataSource,
      `INSERT INTO artifacts.artifact_chunks (artifact_id, seq, data) VALUES ($1, $2, $3)`,
      [this.id, seq, data],
    );
  }

  async complete(bytes: number, metadata: ArtifactMetadata): Promise<Artifact> {
    try {
      const { records } = await execute<ArtifactRow>(
        this.dataSource,
        `UPDATE artifacts.artifacts
            SET status = 'complete', bytes = $2, metadata = $3, completed_at = now()
          WHERE id = $1 AND status = 'writing'
          RETURNING ${COLUMNS}`,
        [this.id, bytes, JSON.stringify(metadata)],
      );
      const row = records[0];
      if (!row) throw new Error(`Artifact ${this.id} was deleted while it was being written`);
      return toArtifact(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ArtifactConflictError(this.artifact.jobId, { cause: error });
      throw error;
    }
  }

  async discard(): Promise<void> {
    await execute(this.dataSource, `DELETE FROM artifacts.artifacts WHERE id = $1`, [this.id]);
  }
}

function toArtifact(row: ArtifactRow): Artifact {
  return {
    id: row.id,
    jobId: row.job_id,
    tenant: row.tenant,
    contentType: row.content_type,
    filename: row.filename,
    bytes: Number(row.bytes),
    status: row.status,
    metadata: row.metadata,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    expiresAt: row.expires_at,
  };
}

function isUniqueViolation(error: unknown): boolean {
  const driverError: unknown = (error as { driverError?: unknown } | null)?.driverError ?? error;
  return (driverError as { code?: unknown } | null)?.code === '23505';
}

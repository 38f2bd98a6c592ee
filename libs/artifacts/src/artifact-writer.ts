import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Artifact, ArtifactMetadata } from './artifact.js';
import { toError } from './artifact-errors.js';

export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/** Where an {@link ArtifactWriter} puts its bytes: Postgres in the store, memory in unit specs. */
export interface ChunkSink {
  /** Records the artifact as `writing`; runs before the first chunk. */
  begin(): Promise<void>;
  append(seq: number, data: Buffer): Promise<void>;
  /** Marks the artifact complete; rejects when the job already has a complete one. */
  complete(bytes: number, metadata: ArtifactMetadata): Promise<Artifact>;
  /** Deletes the artifact and whatever chunks it has. */
  discard(): Promise<void>;
}

type Callback = (error?: Error | null) => void;

/**
 * A byte stream into the artifact store that holds at most about one chunk in memory: every full chunk is
 * stored before the write that filled it is acknowledged, so a fast producer waits for the database
 * (backpressure) instead of growing a buffer. `end()` stores the last, short chunk; {@link complete} then
 * makes the artifact visible. Destroyed before it finished (an error, `abort()`), it deletes what it wrote.
 */
export class ArtifactWriter extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private nextSeq = 0;
  private accepted = 0;
  private lastStore: Promise<void> = Promise.resolve();
  private discarding?: Promise<void>;
  private completing?: Promise<Artifact>;
  private completed = false;

  constructor(
    readonly artifactId: string,
    private readonly sink: ChunkSink,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {
    super({ highWaterMark: chunkSize, decodeStrings: true });
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    }
  }

  /** Bytes accepted so far (the file's size once ended). */
  get bytesWritten(): number {
    return this.accepted;
  }

  /**
   * Ends the stream if it is not ended yet, waits until every chunk is stored and marks the artifact
   * complete. On failure the artifact is deleted and the error rethrown ({@link ArtifactConflictError} when
   * the job already has a complete artifact).
   */
  complete(metadata: ArtifactMetadata = {}): Promise<Artifact> {
    this.completing ??= this.completeOnce(metadata);
    return this.completing;
  }

  /** Stops writing and deletes the artifact with every chunk written so far; a completed one is kept. */
  async abort(): Promise<void> {
    if (this.completed) return;
    // Without an error: destroy(error) would emit 'error', and nobody may be listening any more.
    this.destroy();
    await this.discard();
  }

  override _construct(callback: Callback): void {
    this.settle(this.sink.begin(), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.accepted += chunk.length;
    this.settle(this.storeFullChunks(), callback);
  }

  override _final(callback: Callback): void {
    this.settle(this.storeRest(), callback);
  }

  override _destroy(error: Error | null, callback: Callback): void {
    // Destroyed after 'finish' is the normal end of a stream (autoDestroy); before it, the file is partial.
    if (this.writableFinished) {
      callback(error);
      return;
    }
    this.discard().then(
      () => {
        callback(error);
      },
      (discardError: unknown) => {
        callback(error ?? toError(discardError));
      },
    );
  }

  private async completeOnce(metadata: ArtifactMetadata): Promise<Artifact> {
    if (!this.writableEnded) this.end();
    await finished(this);
    // finished() also resolves for a stream destroyed after end() but before its last chunk was stored.
    if (!this.writableFinished) {
      throw this.errored ?? new Error(`Artifact ${this.artifactId} was aborted before it was complete`);
    }
    try {
      const artifact = await this.sink.complete(this.accepted, metadata);
      this.completed = true;
      return artifact;
    } catch (error) {
      await this.discard().catch(() => undefined);
      throw error;
    }
  }

  private discard(): Promise<void> {
    // Let a chunk INSERT under way land first, so the DELETE takes it with the rest.
    this.discarding ??= this.lastStore.catch(() => undefined).then(() => this.sink.discard());
    return this.discarding;
  }

  private settle(work: Promise<void>, callback: Callback): void {
    this.lastStore = work;
    work.then(
      () => {
        callback();
      },
      (error: unknown) => {
        callback(toError(error));
      },
    );
  }

  private async storeFullChunks(): Promise<void> {
    if (this.pendingBytes < this.chunkSize) return;
    const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    let offset = 0;
    while (all.length - offset >= this.chunkSize) {
      await this.sink.append(this.nextSeq, all.subarray(offset, offset + this.chunkSize));
      this.nextSeq += 1;
      offset += this.chunkSize;
    }
    // A copy, so that a large write's buffer is not kept alive by its small remainder.
    const rest = Buffer.from(all.subarray(offset));
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
  }

  private async storeRest(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const last = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.sink.append(this.nextSeq, last);
    this.nextSeq += 1;
  }
}

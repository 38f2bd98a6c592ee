import { Readable } from 'node:stream';
import { ArtifactCorruptedError, ArtifactNotFoundError, toError } from './artifact-errors.js';

export interface StoredChunk {
  readonly seq: number;
  readonly data: Buffer;
}

/** Where an {@link ArtifactReader} gets its bytes: Postgres in the store, memory in unit specs. */
export interface ChunkSource {
  /** The size of the artifact if it exists and is complete, else undefined. */
  completeSize(): Promise<number | undefined>;
  /** Up to `limit` chunks from `fromSeq` on, in sequence order. */
  chunks(fromSeq: number, limit: number): Promise<StoredChunk[]>;
}

export const DEFAULT_CHUNKS_PER_FETCH = 4;

/**
 * Streams a complete artifact chunk by chunk, a few chunks per query and only as fast as the consumer reads,
 * so a download never holds the whole file. Errors with {@link ArtifactNotFoundError} when the artifact is
 * missing or incomplete, and with {@link ArtifactCorruptedError} when the chunks stop short of its size
 * (deleted mid-read) or skip a sequence number, rather than ending as if the file were whole.
 */
export class ArtifactReader extends Readable {
  private expectedBytes = 0;
  private nextSeq = 0;
  private delivered = 0;
  /**
   * Settles once the artifact has been looked up, before any byte is read: rejects with what the stream
   * errors with (not found, the database away), so a caller can answer with a status instead of a body that
   * breaks off. The stream errors too, as always.
   */
  readonly opened: Promise<void>;
  private settleOpened: { resolve(): void; reject(error: Error): void } = {
    resolve: () => undefined,
    reject: () => undefined,
  };

  constructor(
    readonly artifactId: string,
    private readonly source: ChunkSource,
    private readonly chunksPerFetch = DEFAULT_CHUNKS_PER_FETCH,
  ) {
    super();
    if (!Number.isInteger(chunksPerFetch) || chunksPerFetch < 1) {
      throw new RangeError(`chunksPerFetch must be a positive integer, got ${chunksPerFetch}`);
    }
    this.opened = new Promise((resolve, reject) => (this.settleOpened = { resolve, reject }));
    this.opened.catch(() => undefined); // not everyone asks; the stream's 'error' carries it as well
  }

  /** Bytes pushed to the consumer so far. */
  get bytesRead(): number {
    return this.delivered;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.source.completeSize().then(
      (size) => {
        if (size === undefined) {
          this.failOpen(new ArtifactNotFoundError(this.artifactId), callback);
          return;
        }
        this.expectedBytes = size;
        this.settleOpened.resolve();
        callback();
      },
      (error: unknown) => {
        this.failOpen(toError(error), callback);
      },
    );
  }

  private failOpen(error: Error, callback: (error?: Error | null) => void): void {
    this.settleOpened.reject(error);
    callback(error);
  }

  override _read(): void {
    this.source.chunks(this.nextSeq, this.chunksPerFetch).then(
      (chunks) => {
        this.deliver(chunks);
      },
      (error: unknown) => {
        this.destroy(toError(error));
      },
    );
  }

  private deliver(chunks: readonly StoredChunk[]): void {
    for (const chunk of chunks) {
      if (chunk.seq !== this.nextSeq) {
        this.destroy(
          new ArtifactCorruptedError(this.artifactId, `expected chunk ${this.nextSeq}, found ${chunk.seq}`),
        );
        return;
      }
      this.nextSeq += 1;
      this.delivered += chunk.data.length;
      this.push(chunk.data);
    }
    if (chunks.length === this.chunksPerFetch) return;
    if (this.delivered !== this.expectedBytes) {
      this.destroy(
        new ArtifactCorruptedError(
          this.artifactId,
          `its chunks hold ${this.delivered} bytes, ${this.expectedBytes} expected`,
        ),
      );
      return;
    }
    this.push(null);
  }
}

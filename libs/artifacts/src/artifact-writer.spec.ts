import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import type { Artifact, ArtifactMetadata } from './artifact.js';
import { ArtifactConflictError } from './artifact-errors.js';
import { ArtifactWriter, type ChunkSink } from './artifact-writer.js';

/** The artifact store in memory, recording every call. */
class MemorySink implements ChunkSink {
  readonly chunks: { seq: number; data: Buffer }[] = [];
  readonly calls: string[] = [];
  exists = false;
  status: 'writing' | 'complete' | 'gone' = 'writing';
  failAppendAt?: number;
  conflictOnComplete = false;

  async begin(): Promise<void> {
    this.calls.push('begin');
    this.exists = true;
  }

  async append(seq: number, data: Buffer): Promise<void> {
    this.calls.push(`append ${seq}`);
    if (seq === this.failAppendAt) throw new Error('disk full');
    // Copied: the writer may hand out views of a larger buffer.
    this.chunks.push({ seq, data: Buffer.from(data) });
  }

  async complete(bytes: number, metadata: ArtifactMetadata): Promise<Artifact> {
    this.calls.push('complete');
    if (this.conflictOnComplete) throw new ArtifactConflictError('job-1');
    this.status = 'complete';
    return {
      id: 'a-1',
      jobId: 'job-1',
      tenant: 'acme',
      contentType: 'text/csv',
      filename: 'x.csv',
      bytes,
      status: 'complete',
      metadata,
      createdAt: new Date(0),
      completedAt: new Date(0),
      expiresAt: new Date(0),
    };
  }

  async discard(): Promise<void> {
    this.calls.push('discard');
    this.exists = false;
    this.status = 'gone';
    this.chunks.length = 0;
  }

  get content(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }
}

function bytes(length: number, seed = 1): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 31 + seed) % 251;
  return data;
}

/** `data` in pieces of the given sizes, cycling. */
function* pieces(data: Buffer, sizes: readonly number[]): Generator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

describe(ArtifactWriter.name, () => {
  it('stores full chunks of exactly chunkSize bytes and a short last one, in sequence', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 10);
    const data = bytes(47);

    await pipeline(Readable.from(pieces(data, [3, 11, 1, 25])), sut);
    const artifact = await sut.complete({ rows: 3 });

    expect(sink.chunks.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(sink.chunks.map((c) => c.data.length)).toEqual([10, 10, 10, 10, 7]);
    expect(sink.content.equals(data)).toBe(true);
    expect(artifact).toMatchObject({ bytes: 47, metadata: { rows: 3 } });
    expect(sut.bytesWritten).toBe(47);
    expect(sink.calls[0]).toBe('begin');
    expect(sink.calls.at(-1)).toBe('complete');
  });

  it('never keeps more than one chunk of a stream buffered before storing it', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 8);
    const seen: number[] = [];
    const data = bytes(100);

    for (const piece of pieces(data, [3])) {
      await new Promise<void>((resolve, reject) => {
        sut.write(piece, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      seen.push(sut.bytesWritten - sink.content.length);
    }
    await sut.complete();

    expect(Math.max(...seen)).toBeLessThan(8);
    expect(sink.content.equals(data)).toBe(true);
  });

  it('splits one write larger than several chunks', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 4);

    sut.write(bytes(9));
    await sut.complete();

    expect(sink.chunks.map((c) => c.data.length)).toEqual([4, 4, 1]);
  });

  it('completes an empty file with no chunks', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 4);

    const artifact = await sut.complete();

    expect(sink.calls).toEqual(['begin', 'complete']);
    expect(artifact.bytes).toBe(0);
  });

  it('accepts strings as UTF-8', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 4);

    sut.write('héllo, wörld');
    await sut.complete();

    expect(sink.content.toString('utf8')).toBe('héllo, wörld');
  });

  it('abort() deletes what was written and leaves no artifact', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 4);
    sut.write(bytes(10));

    await sut.abort();

    expect(sink.exists).toBe(false);
    expect(sink.calls.at(-1)).toBe('discard');
    await expect(sut.complete()).rejects.toThrow();
    expect(sink.calls).not.toContain('complete');
  });

  it('deletes the partial artifact when the stream feeding it fails', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 4);
    async function* failing() {
      yield bytes(9);
      throw new Error('source broke');
    }

    await expect(pipeline(failing(), sut)).rejects.toThrow('source broke');
    await sut.abort();

    expect(sink.exists).toBe(false);
    expect(sink.calls.filter((c) => c === 'discard')).toHaveLength(1);
  });

  it('fails the stream and deletes the artifact when storing a chunk fails', async () => {
    const sink = new MemorySink();
    sink.failAppendAt = 1;
    const sut = new ArtifactWriter('a-1', sink, 4);

    await expect(pipeline(Readable.from([bytes(20)]), sut)).rejects.toThrow('disk full');
    await sut.abort();

    expect(sink.exists).toBe(false);
  });

  it('deletes its artifact when completing is refused, and rethrows the conflict', async () => {
    const sink = new MemorySink();
    sink.conflictOnComplete = true;
    const sut = new ArtifactWriter('a-1', sink, 4);
    sut.write(bytes(6));

    await expect(sut.complete()).rejects.toBeInstanceOf(ArtifactConflictError);

    expect(sink.exists).toBe(false);
  });

  it('keeps a completed artifact when abort() comes afterwards', async () => {
    const sink = new MemorySink();
    const sut = new ArtifactWriter('a-1', sink, 4);
    sut.write(bytes(6));
    await sut.complete();

    await sut.abort();

    expect(sink.status).toBe('complete');
    expect(sink.calls).not.toContain('discard');
  });

  it('refuses a chunk size that is not a positive integer', () => {
    expect(() => new ArtifactWriter('a-1', new MemorySink(), 0)).toThrow(RangeError);
  });
});

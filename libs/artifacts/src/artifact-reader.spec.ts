import { describe, expect, it } from '@jest/globals';
import { ArtifactCorruptedError, ArtifactNotFoundError } from './artifact-errors.js';
import { ArtifactReader, type ChunkSource, type StoredChunk } from './artifact-reader.js';

class MemorySource implements ChunkSource {
  readonly fetches: { fromSeq: number; limit: number }[] = [];

  constructor(
    readonly stored: StoredChunk[],
    readonly size: number | 'missing' = stored.reduce((sum, c) => sum + c.data.length, 0),
  ) {}

  async completeSize(): Promise<number | undefined> {
    return this.size === 'missing' ? undefined : this.size;
  }

  async chunks(fromSeq: number, limit: number): Promise<StoredChunk[]> {
    this.fetches.push({ fromSeq, limit });
    return this.stored.filter((c) => c.seq >= fromSeq).slice(0, limit);
  }
}

function chunks(...texts: string[]): StoredChunk[] {
  return texts.map((text, seq) => ({ seq, data: Buffer.from(text) }));
}

async function readAll(reader: ArtifactReader): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of reader) parts.push(part as Buffer);
  return Buffer.concat(parts).toString();
}

describe(ArtifactReader.name, () => {
  it('streams the chunks in sequence, a few per fetch', async () => {
    const source = new MemorySource(chunks('ab', 'cd', 'ef', 'gh', 'ij'));
    const sut = new ArtifactReader('a-1', source, 2);

    expect(await readAll(sut)).toBe('abcdefghij');
    expect(source.fetches).toEqual([
      { fromSeq: 0, limit: 2 },
      { fromSeq: 2, limit: 2 },
      { fromSeq: 4, limit: 2 },
    ]);
    expect(sut.bytesRead).toBe(10);
  });

  it('ends after an exact multiple of the fetch size with one empty fetch', async () => {
    const source = new MemorySource(chunks('ab', 'cd'));

    expect(await readAll(new ArtifactReader('a-1', source, 2))).toBe('abcd');
    expect(source.fetches.map((f) => f.fromSeq)).toEqual([0, 2]);
  });

  it('streams an empty artifact as an empty stream', async () => {
    expect(await readAll(new ArtifactReader('a-1', new MemorySource([])))).toBe('');
  });

  it('does not fetch ahead of a consumer that stopped reading', async () => {
    const source = new MemorySource(chunks(...Array.from({ length: 100 }, () => 'x'.repeat(64 * 1024))));
    const sut = new ArtifactReader('a-1', source, 2);

    const iterator = sut[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setImmediate(resolve));

    expect(source.fetches.length).toBeLessThanOrEqual(2);
    sut.destroy();
  });

  it('fails with ArtifactNotFoundError when the artifact is missing or not complete', async () => {
    await expect(readAll(new ArtifactReader('a-1', new MemorySource([], 'missing')))).rejects.toBeInstanceOf(
      ArtifactNotFoundError,
    );
  });

  it('fails instead of ending early when the chunks stop short of the size', async () => {
    const source = new MemorySource(chunks('ab', 'cd'), 6);

    await expect(readAll(new ArtifactReader('a-1', source))).rejects.toBeInstanceOf(ArtifactCorruptedError);
  });

  it('fails on a gap in the sequence', async () => {
    const source = new MemorySource([
      { seq: 0, data: Buffer.from('ab') },
      { seq: 2, data: Buffer.from('ef') },
    ]);

    await expect(readAll(new ArtifactReader('a-1', source))).rejects.toThrow('expected chunk 1, found 2');
  });
});

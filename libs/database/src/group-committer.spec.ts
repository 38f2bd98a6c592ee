import { describe, expect, it } from '@jest/globals';
import { GroupCommitter } from './group-committer.js';

function deferred() {
  let release: () => void = () => undefined;
  let fail: (e: unknown) => void = () => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  return { promise, release, fail };
}

/** Lets already-queued promise callbacks run (no timers involved). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe(GroupCommitter.name, () => {
  it('writes an item at once when a lane is free, and groups what arrives while lanes are busy', async () => {
    const flushes: number[][] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const sut = new GroupCommitter<number>(
      (items) => {
        flushes.push([...items]);
        const gate = deferred();
        gates.push(gate);
        return gate.promise;
      },
      { maxBatch: 3, lanes: 1 },
    );
    const done = [1, 2, 3, 4, 5, 6].map((n) => sut.add(n));
    expect(flushes).toEqual([[1]]);
    expect(sut.backlog).toBe(5);
    gates[0]?.release();
    await done[0];
    await settled();
    expect(flushes).toEqual([[1], [2, 3, 4]]);
    gates[1]?.release();
    await done[3];
    await settled();
    expect(flushes).toEqual([[1], [2, 3, 4], [5, 6]]);
    gates[2]?.release();
    await Promise.all(done);
  });

  it('rejects every caller of a failed flush and carries on with the next', async () => {
    let calls = 0;
    const sut = new GroupCommitter<string>(
      async () => {
        calls++;
        if (calls === 1) throw new Error('disk full');
      },
      { maxBatch: 10, lanes: 1 },
    );
    const first = sut.add('a');
    const second = sut.add('b');
    const third = sut.add('c');
    await expect(first).rejects.toThrow('disk full');
    await expect(second).resolves.toBeUndefined();
    await expect(third).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  it('uses up to `lanes` flushes at once', async () => {
    let active = 0;
    let peak = 0;
    const sut = new GroupCommitter<number>(
      async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
      },
      { maxBatch: 1, lanes: 3 },
    );
    await Promise.all(Array.from({ length: 10 }, (_, i) => sut.add(i)));
    expect(peak).toBe(3);
  });

  it('writes items added together in one flush, and settles their promise once all are written', async () => {
    const flushes: number[][] = [];
    const sut = new GroupCommitter<number>(
      (items) => {
        flushes.push([...items]);
        return Promise.resolve();
      },
      { maxBatch: 10, lanes: 1 },
    );
    await Promise.all([sut.addAll([1, 2, 3]), sut.addAll([]), sut.add(4)]);
    expect(flushes).toEqual([[1, 2, 3], [4]]);
  });

  it('rejects items added together when any of their flushes fails', async () => {
    let calls = 0;
    const sut = new GroupCommitter<number>(
      () => (++calls === 2 ? Promise.reject(new Error('down')) : Promise.resolve()),
      { maxBatch: 2, lanes: 1 },
    );
    await expect(sut.addAll([1, 2, 3])).rejects.toThrow('down');
  });
});

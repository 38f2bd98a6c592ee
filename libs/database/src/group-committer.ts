interface Pending<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** Most items written by one flush. */
  readonly maxBatch: number;
  /** Flushes allowed at once; while all are busy, new items queue up and go out together. */
  readonly lanes: number;
}

/**
 * Group commit: callers add items one by one and each gets a promise; items that arrive while earlier
 * flushes are busy are written together by one `flush` (one statement, one commit). Under light load a
 * flush carries one item and adds no delay; under heavy load batches grow by themselves.
 * A failed flush rejects every caller in it; nothing is retried behind their backs.
 */
export class GroupCommitter<T> {
  private queue: Pending<T>[] = [];
  private busy = 0;

  constructor(
    private readonly flush: (items: readonly T[]) => Promise<void>,
    private readonly options: GroupCommitOptions,
  ) {}

  add(item: T): Promise<void> {
    return this.addAll([item]);
  }

  /** Several items that belong together: they go out in the same flush (unless more than `maxBatch`). */
  addAll(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let left = items.length;
      const done = () => {
        if (--left === 0) resolve();
      };
      for (const item of items) this.queue.push({ item, resolve: done, reject });
      this.pump();
    });
  }

  /** Items waiting for a lane. */
  get backlog(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.busy < this.options.lanes && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.busy++;
      this.flush(batch.map((p) => p.item))
        .then(
          () => {
            for (const p of batch) p.resolve();
          },
          (error: unknown) => {
            for (const p of batch) p.reject(error);
          },
        )
        .finally(() => {
          this.busy--;
          this.pump();
        })
        .catch(() => undefined);
    }
  }
}

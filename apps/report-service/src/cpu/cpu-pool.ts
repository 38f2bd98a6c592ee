import { availableParallelism } from 'node:os';
import type { Transferable } from 'node:worker_threads';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Piscina } from 'piscina';
import { errorMessageOf, PermanentError } from '#messaging';

export const CPU_POOL_SIZE = Symbol('CPU_POOL_SIZE');

/** The exports of `cpu.worker.ts`: what a worker thread can run. */
export type CpuTask = 'burnCpu' | 'formatOrdersCsv' | 'renderOrdersPdf';

/** The job was cancelled (or the service is stopping) while its CPU work ran; the thread was terminated. */
export class CpuWorkAbortedError extends Error {
  constructor(reason: string) {
    super(`CPU work aborted: ${reason}`);
    this.name = 'CpuWorkAbortedError';
  }
}

/**
 * Worker threads for CPU-bound work, sized to the machine, so the event loop only moves messages and
 * bytes (and health probes stay fast). Created on first use: a service that never burns CPU starts none.
 *
 * Short tasks (`run`: an echo's cpuMs, a CSV batch) queue for any thread. A long task (`runLong`: a PDF
 * render, which holds its thread for the whole report because PDFKit is stateful) also needs one of
 * `size - 1` long slots, so however many reports render, one thread stays free for the short tasks instead
 * of queueing them behind minutes of PDF layout.
 */
@Injectable()
export class CpuPool implements OnApplicationShutdown {
  private readonly logger = new Logger(CpuPool.name);
  private pool?: Piscina;
  private readonly longSlots: Slots;

  constructor(@Inject(CPU_POOL_SIZE) private readonly size: number) {
    this.longSlots = new Slots(Math.max(1, size - 1));
  }

  static defaultSize(): number {
    return Math.max(1, availableParallelism());
  }

  /** Burns `ms` of CPU on a worker thread; aborting `signal` terminates that thread mid-way. */
  async burn(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.workers().run({ ms }, { name: 'burnCpu', signal });
    } catch (error) {
      if (signal.aborted) throw new CpuWorkAbortedError(String(signal.reason));
      throw new PermanentError(`CPU work failed: ${errorMessageOf(error)}`, 'cpu_work_failed');
    }
  }

  /**
   * Runs `task` on a worker thread. Aborting `signal` terminates the thread and rejects with the signal's
   * reason; the task's own failure is rethrown as it is.
   */
  async run<T>(
    task: CpuTask,
    input: unknown,
    signal: AbortSignal,
    transferList?: readonly Transferable[],
  ): Promise<T> {
    signal.throwIfAborted();
    try {
      const result: unknown = await this.workers().run(input, {
        name: task,
        signal,
        ...(transferList ? { transferList: [...transferList] } : {}),
      });
      return result as T;
    } catch (error) {
      signal.throwIfAborted();
      throw error;
    }
  }

  /** {@link run} for a task that keeps its thread a long time: waits for a long slot first. */
  async runLong<T>(
    task: CpuTask,
    input: unknown,
    signal: AbortSignal,
    transferList?: readonly Transferable[],
  ): Promise<T> {
    await this.longSlots.acquire(signal);
    try {
      return await this.run<T>(task, input, signal, transferList);
    } finally {
      this.longSlots.release();
    }
  }

  private workers(): Piscina {
    if (this.pool) return this.pool;
    this.pool = new Piscina({
      ...workerScript(),
      minThreads: 1,
      maxThreads: this.size,
      idleTimeout: 30_000,
      // Threads otherwise block in Atomics.wait between tasks instead of running their event loop; with
      // atomics on, piscina also dropped a CSV batch's result as "Unexpected message from Worker" (seen
      // once under jest, gone with this).
      atomics: 'disabled',
      // Each thread is a V8 isolate of its own: a small young generation keeps its memory near what the
      // batch in hand needs. Measured with `npm run bench:report-memory`: a 1M-row CSV took report-service
      // to 219 MiB RSS with V8's defaults, 194 MiB with these.
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 96 },
    });
    // piscina reports a result that arrives for a task it no longer holds as an 'error' event (when a
    // thread fails, piscina rejects and forgets its tasks; a result already on its way has no owner then).
    // Unheard, that event would take the whole service down. Seen once, in a unit test under load.
    this.pool.on('error', (error: unknown) => {
      this.logger.error(`CPU pool: ${errorMessageOf(error).slice(0, 300)}`);
    });
    return this.pool;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.destroy();
  }
}

/**
 * The worker entry next to this file. Run from TypeScript sources (jest, `--conditions=source`), the
 * threads need the same loader as the process; from dist/ they load plain JavaScript.
 */
function workerScript(): { filename: string; execArgv?: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    return {
      filename: new URL('./cpu.worker.ts', import.meta.url).href,
      execArgv: ['--conditions=source', '--import', '@swc-node/register/esm-register'],
    };
  }
  return { filename: new URL('./cpu.worker.js', import.meta.url).href };
}

/** A counting semaphore whose waits end when their signal aborts. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(count: number) {
    this.free = count;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        reject(signal.reason as Error);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

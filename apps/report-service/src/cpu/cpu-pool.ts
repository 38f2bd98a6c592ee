import { availableParallelism } from 'node:os';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Piscina } from 'piscina';
import { errorMessageOf, PermanentError } from '#messaging';

export const CPU_POOL_SIZE = Symbol('CPU_POOL_SIZE');

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
 */
@Injectable()
export class CpuPool implements OnApplicationShutdown {
  private pool?: Piscina;

  constructor(@Inject(CPU_POOL_SIZE) private readonly size: number) {}

  static defaultSize(): number {
    return Math.max(1, availableParallelism());
  }

  /** Burns `ms` of CPU on a worker thread; aborting `signal` terminates that thread mid-way. */
  async burn(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await this.workers().run({ ms }, { name: 'default', signal });
    } catch (error) {
      if (signal.aborted) throw new CpuWorkAbortedError(String(signal.reason));
      throw new PermanentError(`CPU work failed: ${errorMessageOf(error)}`, 'cpu_work_failed');
    }
  }

  private workers(): Piscina {
    this.pool ??= new Piscina({
      filename: new URL('./burn-cpu.worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: this.size,
      idleTimeout: 30_000,
    });
    return this.pool;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.destroy();
  }
}

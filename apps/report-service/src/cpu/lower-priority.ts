import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Niceness of the CPU pool's threads: they take whatever CPU is left over, never the event loops' share. */
export const CPU_THREAD_NICE = 10;

/**
 * Lowers the scheduling priority of the calling thread only (Linux: `setpriority` on a thread id changes
 * that thread). A worker thread burning CPU then yields to every event loop on the machine — this
 * service's, the gateway's, the broker's — so rendering at full speed does not slow requests down, and it
 * still gets all the CPU nobody else wants. Elsewhere (no /proc/thread-self) it does nothing.
 */
export function lowerThisThreadPriority(nice = CPU_THREAD_NICE): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

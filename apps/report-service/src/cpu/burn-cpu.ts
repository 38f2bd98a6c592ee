/**
 * Runs in a worker thread of the CPU pool: spins for `ms` milliseconds (the echo job's `cpuMs`). A cancel
 * terminates the thread, so the loop needs no checks of its own.
 */
export function burnCpu({ ms }: { ms: number }): number {
  const until = performance.now() + ms;
  let spins = 0;
  while (performance.now() < until) spins++;
  return spins;
}

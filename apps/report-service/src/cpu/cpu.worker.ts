/**
 * The CPU pool's worker threads load this module; each export is a task, picked by name (`CpuTask`). One
 * entry for all tasks, so every kind of CPU work shares the one pool sized to the machine.
 *
 * The thread's priority drops before the tasks load: loading them (PDFKit and its fonts among them) takes
 * ~150 ms of CPU per thread, and a thread the pool starts in the middle of a burst would otherwise take
 * that from the event loops (see lower-priority.ts).
 */
import { lowerThisThreadPriority } from './lower-priority.js';

lowerThisThreadPriority();

export const { burnCpu, formatOrdersCsv, renderOrdersPdf } = await import('./cpu.tasks.js');

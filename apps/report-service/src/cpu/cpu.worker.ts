/**
 * The CPU pool's worker threads load this module; each export is a task, picked by name (`CpuTask`). One
 * entry for all tasks, so every kind of CPU work shares the one pool sized to the machine.
 */
import { lowerThisThreadPriority } from './lower-priority.js';

// CPU work takes what the event loops leave (see lower-priority.ts).
lowerThisThreadPriority();

export { burnCpu } from './burn-cpu.js';
export { formatOrdersCsv } from '../reports/orders-csv.js';
export { renderOrdersPdf } from '../reports/orders-pdf.task.js';

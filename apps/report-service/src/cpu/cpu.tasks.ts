/** What the CPU pool's threads run, loaded by `cpu.worker.ts` once the thread's priority is lowered. */
export { burnCpu } from './burn-cpu.js';
export { formatOrdersCsv } from '../reports/orders-csv.js';
export { renderOrdersPdf } from '../reports/orders-pdf.task.js';

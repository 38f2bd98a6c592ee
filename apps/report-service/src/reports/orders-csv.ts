import type { OrderRow } from '../orders/order.js';
import { orderRowsOf, type OrderColumns } from '../orders/order-columns.js';
import { csvRecord } from './csv.js';
import { formatMinorUnits } from './money.js';

export const ORDERS_CSV_CONTENT_TYPE = 'text/csv';

export const ORDERS_CSV_HEADER = csvRecord([
  'id',
  'customer_id',
  'amount',
  'currency',
  'status',
  'created_at',
]);

/** One order as a CSV record (API.md, "Reports"): amount with the currency's minor digits, time in UTC. */
export function orderCsvRecord(order: OrderRow): string {
  return csvRecord([
    order.id,
    order.customer_id,
    formatMinorUnits(order.amount_minor, order.currency),
    order.currency,
    order.status,
    order.created_at.toISOString(),
  ]);
}

/** A batch of orders as CSV records; a CPU pool task (it runs on a worker thread). */
export function formatOrdersCsv(columns: OrderColumns): string {
  let text = '';
  for (const order of orderRowsOf(columns)) text += orderCsvRecord(order);
  return text;
}

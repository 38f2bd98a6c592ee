import type { GenerateReport } from '#contracts';

export type OrderStatus = NonNullable<NonNullable<GenerateReport['filters']>['status']>;

/** A row of `report.orders` as node-postgres returns it (bigint as a string, timestamptz as a Date). */
export interface OrderRow {
  readonly id: string;
  readonly customer_id: string;
  readonly amount_minor: string;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly created_at: Date;
}

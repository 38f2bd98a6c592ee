import { describe, expect, it } from '@jest/globals';
import type { OrderRow } from '../orders/order.js';
import { ORDERS_CSV_HEADER, orderCsvRecord } from './orders-csv.js';

function order(overrides: Partial<OrderRow> = {}): OrderRow {
  return {
    id: '6e7f85a9-d0fe-9b5d-fb50-4c6f2991d744',
    customer_id: 'cus_42',
    amount_minor: '1999',
    currency: 'EUR',
    status: 'paid',
    created_at: new Date('2026-03-04T05:06:07Z'),
    ...overrides,
  };
}

describe(orderCsvRecord.name, () => {
  it('has the header of API.md, CRLF-terminated', () => {
    expect(ORDERS_CSV_HEADER).toBe('id,customer_id,amount,currency,status,created_at\r\n');
  });

  it('writes an order with its amount in major units and its time in UTC ISO 8601', () => {
    expect(orderCsvRecord(order())).toBe(
      '6e7f85a9-d0fe-9b5d-fb50-4c6f2991d744,cus_42,19.99,EUR,paid,2026-03-04T05:06:07.000Z\r\n',
    );
  });

  it('writes JPY amounts as whole yen', () => {
    expect(orderCsvRecord(order({ amount_minor: '1999', currency: 'JPY' }))).toContain(',1999,JPY,');
  });

  it('writes zero and negative amounts', () => {
    expect(orderCsvRecord(order({ amount_minor: '0' }))).toContain(',0.00,EUR,');
    expect(orderCsvRecord(order({ amount_minor: '-250', status: 'refunded' }))).toContain(
      ',-2.50,EUR,refunded,',
    );
  });

  it('quotes a field that needs it', () => {
    expect(orderCsvRecord(order({ customer_id: 'cus_1,"x"' }))).toContain(',"cus_1,""x""",');
  });

  it('writes times in UTC whatever the offset they were created with', () => {
    expect(orderCsvRecord(order({ created_at: new Date('2026-01-01T00:30:00+02:00') }))).toMatch(
      /,2025-12-31T22:30:00\.000Z\r\n$/,
    );
  });
});

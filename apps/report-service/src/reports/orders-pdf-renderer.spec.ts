import { describe, expect, it } from '@jest/globals';
import type { OrderRow } from '../orders/order.js';
import { planPdfPages, PDF_ROWS_PER_PAGE } from './orders-pdf-layout.js';
import { OrdersPdfRenderer, PdfTotalsMismatchError, type OrdersPdfInfo } from './orders-pdf-renderer.js';

function orders(count: number): OrderRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    customer_id: `cus_${i % 7}`,
    amount_minor: String(100 + i),
    currency: i % 3 === 0 ? 'JPY' : 'EUR',
    status: 'paid' as const,
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)),
  }));
}

function infoOf(rows: readonly OrderRow[]): OrdersPdfInfo {
  const sums = new Map<string, { orders: number; amount: bigint }>();
  for (const row of rows) {
    const sum = sums.get(row.currency) ?? { orders: 0, amount: 0n };
    sum.orders += 1;
    sum.amount += BigInt(row.amount_minor);
    sums.set(row.currency, sum);
  }
  return {
    jobId: 'job-1',
    generatedAt: '2026-01-01T00:00:00.000Z',
    rows: rows.length,
    totals: [...sums].map(([currency, s]) => ({ currency, orders: s.orders, amountMinor: String(s.amount) })),
  };
}

async function render(info: OrdersPdfInfo, batches: readonly OrderRow[][]) {
  const chunks: Buffer[] = [];
  const sut = new OrdersPdfRenderer(info, (chunk) => chunks.push(chunk));
  for (const batch of batches) sut.addRows(batch);
  const summary = await sut.finish();
  return { summary, pdf: Buffer.concat(chunks).toString('latin1') };
}

describe(OrdersPdfRenderer.name, () => {
  it('produces a PDF with exactly the planned pages, whatever the batch sizes', async () => {
    const rows = orders(PDF_ROWS_PER_PAGE * 2 + 5);
    const info = infoOf(rows);

    const { summary, pdf } = await render(info, [rows.slice(0, 7), rows.slice(7, 100), rows.slice(100)]);

    const planned = planPdfPages(rows.length, info.totals.length).pageCount;
    expect(summary).toEqual({ rows: rows.length, pages: planned });
    expect(pdf.startsWith('%PDF-')).toBe(true);
    expect(pdf.match(/\/Type \/Page\b/g)).toHaveLength(planned);
  });

  it('hands out the first pages before the last rows arrive', async () => {
    const rows = orders(PDF_ROWS_PER_PAGE * 4);
    const received: number[] = [];
    let bytes = 0;
    const sut = new OrdersPdfRenderer(infoOf(rows), (chunk) => (bytes += chunk.length));
    for (let page = 0; page < 4; page++) {
      sut.addRows(rows.slice(page * PDF_ROWS_PER_PAGE, (page + 1) * PDF_ROWS_PER_PAGE));
      await new Promise((next) => setImmediate(next));
      received.push(bytes);
    }
    await sut.finish();

    expect(received[1]).toBeGreaterThan(received[0]!);
    expect(received[3]).toBeGreaterThan(received[1]!);
  });

  it('refuses to finish when the rows drawn do not add up to the totals', async () => {
    const rows = orders(20);
    const info = infoOf(rows);
    const sut = new OrdersPdfRenderer(
      {
        ...info,
        totals: info.totals.map((t) => ({ ...t, amountMinor: String(BigInt(t.amountMinor) + 1n) })),
      },
      () => undefined,
    );
    sut.addRows(rows);

    await expect(sut.finish()).rejects.toBeInstanceOf(PdfTotalsMismatchError);
  });

  it('refuses more rows than were counted', () => {
    const rows = orders(5);
    const sut = new OrdersPdfRenderer(infoOf(rows.slice(0, 4)), () => undefined);

    expect(() => {
      sut.addRows(rows);
    }).toThrow(PdfTotalsMismatchError);
  });
});

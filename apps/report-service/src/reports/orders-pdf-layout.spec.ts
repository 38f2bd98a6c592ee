import { describe, expect, it } from '@jest/globals';
import {
  describeFilters,
  fitText,
  pageLabel,
  pageOfRow,
  PDF_COLUMNS,
  PDF_CONTENT_BOTTOM,
  PDF_PAGE,
  PDF_ROW_HEIGHT,
  PDF_ROWS_PER_PAGE,
  planPdfPages,
  rowTop,
  totalsBlockHeight,
} from './orders-pdf-layout.js';

describe('orders PDF layout', () => {
  it('fits a whole number of rows between the header and the footer', () => {
    expect(PDF_ROWS_PER_PAGE).toBeGreaterThan(40);
    expect(rowTop(PDF_ROWS_PER_PAGE - 1) + PDF_ROW_HEIGHT).toBeLessThanOrEqual(PDF_CONTENT_BOTTOM);
    expect(rowTop(PDF_ROWS_PER_PAGE)).toBe(rowTop(0));
  });

  it('keeps every column inside the margins, without overlaps', () => {
    let right = PDF_PAGE.margin;
    for (const column of PDF_COLUMNS) {
      expect(column.x).toBeGreaterThanOrEqual(right);
      right = column.x + column.width;
    }
    expect(right).toBeLessThanOrEqual(PDF_PAGE.width - PDF_PAGE.margin);
  });

  it('plans a title page and one table page with the totals under the rows for a short report', () => {
    expect(planPdfPages(10, 4)).toEqual({ tablePages: 1, totalsOnOwnPage: false, pageCount: 2 });
  });

  it('plans one table page saying "no orders" for an empty report', () => {
    expect(planPdfPages(0, 0)).toEqual({ tablePages: 1, totalsOnOwnPage: false, pageCount: 2 });
  });

  it('starts a table page every PDF_ROWS_PER_PAGE rows', () => {
    expect(planPdfPages(PDF_ROWS_PER_PAGE * 3 + 1, 1).tablePages).toBe(4);
    expect(pageOfRow(0)).toBe(2);
    expect(pageOfRow(PDF_ROWS_PER_PAGE - 1)).toBe(2);
    expect(pageOfRow(PDF_ROWS_PER_PAGE)).toBe(3);
  });

  it('moves the totals to a page of their own exactly when they do not fit under the last rows', () => {
    const currencies = 4;
    const space = PDF_CONTENT_BOTTOM - rowTop(0);
    const fittingRows = Math.floor((space - totalsBlockHeight(currencies)) / PDF_ROW_HEIGHT);

    expect(planPdfPages(PDF_ROWS_PER_PAGE + fittingRows, currencies)).toEqual({
      tablePages: 2,
      totalsOnOwnPage: false,
      pageCount: 3,
    });
    expect(planPdfPages(PDF_ROWS_PER_PAGE + fittingRows + 1, currencies)).toEqual({
      tablePages: 2,
      totalsOnOwnPage: true,
      pageCount: 4,
    });
    expect(planPdfPages(PDF_ROWS_PER_PAGE * 2, currencies).pageCount).toBe(4);
  });

  it('refuses more currencies than the totals block can hold on a page', () => {
    expect(() => planPdfPages(1, 500)).toThrow(RangeError);
    expect(() => planPdfPages(-1, 1)).toThrow(RangeError);
  });

  it('numbers pages as "Page n of m"', () => {
    expect(pageLabel(2, 17)).toBe('Page 2 of 17');
  });

  it('states the filters, or "all orders"', () => {
    expect(describeFilters(undefined)).toBe('all orders');
    expect(describeFilters({})).toBe('all orders');
    expect(describeFilters({ from: '2025-01-01', to: '2025-03-31', status: 'paid' })).toBe(
      'from 2025-01-01, to 2025-03-31, status paid',
    );
    expect(describeFilters({ status: 'refunded' })).toBe('status refunded');
  });

  it('cuts text that is too wide with "...", and leaves text that fits alone', () => {
    const width = (text: string) => text.length * 5;

    expect(fitText('cus_42', 30, width)).toBe('cus_42');
    const cut = fitText('a-very-long-customer-id', 60, width);
    expect(cut).toBe('a-very-lo...');
    expect(width(cut)).toBeLessThanOrEqual(60);
  });
});

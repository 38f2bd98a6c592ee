import type { OrderFilters } from '../orders/order-filter.js';

/**
 * The geometry of the orders PDF (A4 portrait, points). Every table row has the same height and never
 * wraps, so the page count follows from the row count and the number of currencies alone: "Page n of m" is
 * known before the first row is drawn, and pages can be streamed out as they fill instead of being kept.
 */
export const PDF_PAGE = { width: 595.28, height: 841.89, margin: 40 } as const;
export const PDF_ROW_HEIGHT = 11;
export const PDF_HEADER_HEIGHT = 16;
export const PDF_TABLE_FONT_SIZE = 7;
/** The footer ("Page n of m") sits below this line. */
export const PDF_CONTENT_BOTTOM = PDF_PAGE.height - PDF_PAGE.margin - 14;

const TOTALS_GAP = 14;
const TOTALS_TITLE_HEIGHT = 16;
const TOTALS_LINE_HEIGHT = 12;

export interface PdfColumn {
  readonly title: string;
  readonly x: number;
  readonly width: number;
  readonly align: 'left' | 'right';
}

/** id, customer, amount, currency, status, created_at (API.md's CSV columns) across the usable width. */
export const PDF_COLUMNS: readonly PdfColumn[] = [
  { title: 'id', x: 40, width: 140, align: 'left' },
  { title: 'customer', x: 184, width: 76, align: 'left' },
  { title: 'amount', x: 264, width: 66, align: 'right' },
  { title: 'currency', x: 340, width: 40, align: 'left' },
  { title: 'status', x: 384, width: 52, align: 'left' },
  { title: 'created_at', x: 440, width: 115, align: 'left' },
];

/** Rows that fit on one table page under its header. */
export const PDF_ROWS_PER_PAGE = Math.floor(
  (PDF_CONTENT_BOTTOM - PDF_PAGE.margin - PDF_HEADER_HEIGHT) / PDF_ROW_HEIGHT,
);

/** Height of the closing totals block: a gap, its title, a line per currency and the row count. */
export function totalsBlockHeight(currencies: number): number {
  return TOTALS_GAP + TOTALS_TITLE_HEIGHT + TOTALS_LINE_HEIGHT * (currencies + 2);
}

export interface PdfPagePlan {
  /** Pages holding rows (at least one, which says "No orders" when there are none). */
  readonly tablePages: number;
  /** The closing totals do not fit under the last rows and get a page of their own. */
  readonly totalsOnOwnPage: boolean;
  /** Title page + table pages (+ the totals page). */
  readonly pageCount: number;
}

/** Where everything goes, from the row count and the number of currencies. */
export function planPdfPages(rows: number, currencies: number): PdfPagePlan {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a whole number, got ${rows}`);
  const available = PDF_CONTENT_BOTTOM - PDF_PAGE.margin - PDF_HEADER_HEIGHT;
  if (totalsBlockHeight(currencies) > available) {
    throw new RangeError(`${currencies} currencies do not fit the totals on one page`);
  }
  const tablePages = Math.max(1, Math.ceil(rows / PDF_ROWS_PER_PAGE));
  const rowsOnLastPage = rows - (tablePages - 1) * PDF_ROWS_PER_PAGE;
  const totalsOnOwnPage =
    Math.max(1, rowsOnLastPage) * PDF_ROW_HEIGHT + totalsBlockHeight(currencies) > available;
  return { tablePages, totalsOnOwnPage, pageCount: 1 + tablePages + (totalsOnOwnPage ? 1 : 0) };
}

/** 1-based page of the 0-based row `index` (the title page is page 1). */
export function pageOfRow(index: number): number {
  return 2 + Math.floor(index / PDF_ROWS_PER_PAGE);
}

/** Top of row `index` on its page. */
export function rowTop(index: number): number {
  return PDF_PAGE.margin + PDF_HEADER_HEIGHT + (index % PDF_ROWS_PER_PAGE) * PDF_ROW_HEIGHT;
}

export function pageLabel(page: number, pageCount: number): string {
  return `Page ${page} of ${pageCount}`;
}

/** The filters as the title page states them. */
export function describeFilters(filters: OrderFilters | undefined): string {
  const parts: string[] = [];
  if (filters?.from !== undefined) parts.push(`from ${filters.from}`);
  if (filters?.to !== undefined) parts.push(`to ${filters.to}`);
  if (filters?.status !== undefined) parts.push(`status ${filters.status}`);
  return parts.length > 0 ? parts.join(', ') : 'all orders';
}

/**
 * `text` cut (with "...") to fit `maxWidth` as measured by `widthOf`; unchanged when it fits. Rows never
 * wrap, or the page plan would be wrong.
 */
export function fitText(text: string, maxWidth: number, widthOf: (text: string) => number): string {
  if (widthOf(text) <= maxWidth) return text;
  let end = text.length;
  while (end > 0 && widthOf(`${text.slice(0, end)}...`) > maxWidth) end--;
  return `${text.slice(0, end)}...`;
}

import PDFDocument from 'pdfkit';
import type { OrderRow } from '../orders/order.js';
import type { OrderFilters } from '../orders/order-filter.js';
import type { OrderTotal } from '../orders/order-total.js';
import { formatMinorUnits } from './money.js';
import {
  describeFilters,
  fitText,
  pageLabel,
  PDF_COLUMNS,
  PDF_CONTENT_BOTTOM,
  PDF_HEADER_HEIGHT,
  PDF_PAGE,
  PDF_ROW_HEIGHT,
  PDF_ROWS_PER_PAGE,
  PDF_TABLE_FONT_SIZE,
  planPdfPages,
  rowTop,
  totalsBlockHeight,
  type PdfPagePlan,
} from './orders-pdf-layout.js';

/** What the title page states; `rows` and `totals` come from the same snapshot the rows stream from. */
export interface OrdersPdfInfo {
  readonly jobId: string;
  /** ISO 8601. */
  readonly generatedAt: string;
  readonly filters?: OrderFilters;
  readonly rows: number;
  /** One entry per currency, in the order they are printed. */
  readonly totals: readonly OrderTotal[];
}

/** The rows drawn do not match the counts on the title page: the snapshot was not one snapshot. */
export class PdfTotalsMismatchError extends Error {
  constructor(detail: string) {
    super(`The rendered rows disagree with the report's totals: ${detail}`);
    this.name = 'PdfTotalsMismatchError';
  }
}

const BODY_FONT = 'Helvetica';
const BOLD_FONT = 'Helvetica-Bold';

/**
 * Lays the orders report out with PDFKit, a batch of rows at a time: title page with the filters and the
 * totals, then the table (header on every page), then the totals again. Each page is written out when the
 * next one starts (no `bufferPages`), so memory holds one page whatever the row count; `onData` receives
 * the PDF's bytes as they are produced. Stateful: one instance per report, on one thread.
 */
export class OrdersPdfRenderer {
  private readonly doc: PDFKit.PDFDocument;
  private readonly plan: PdfPagePlan;
  private readonly ended: Promise<void>;
  private readonly sums = new Map<string, { orders: number; amountMinor: bigint }>();
  private page = 0;
  private rowsDrawn = 0;

  constructor(
    private readonly info: OrdersPdfInfo,
    onData: (chunk: Buffer) => void,
  ) {
    this.plan = planPdfPages(info.rows, info.totals.length);
    this.doc = new PDFDocument({
      size: [PDF_PAGE.width, PDF_PAGE.height],
      // No bottom margin: PDFKit would otherwise start a page of its own for a footer drawn below it.
      margins: { top: PDF_PAGE.margin, left: PDF_PAGE.margin, right: PDF_PAGE.margin, bottom: 0 },
      autoFirstPage: false,
      info: { Title: `Orders report ${info.jobId}`, Creator: 'Conveyor report-service' },
    });
    this.doc.on('data', onData);
    this.ended = new Promise((resolve, reject) => {
      this.doc.on('end', resolve);
      this.doc.on('error', reject);
    });
    this.drawTitlePage();
  }

  get pageCount(): number {
    return this.plan.pageCount;
  }

  /** Draws the next rows (in report order), starting pages as they fill. */
  addRows(rows: Iterable<OrderRow>): void {
    for (const row of rows) {
      if (this.rowsDrawn >= this.info.rows) {
        throw new PdfTotalsMismatchError(`more than the ${this.info.rows} rows counted`);
      }
      if (this.rowsDrawn % PDF_ROWS_PER_PAGE === 0) this.startTablePage();
      this.drawRow(row, rowTop(this.rowsDrawn));
      const sum = this.sums.get(row.currency) ?? { orders: 0, amountMinor: 0n };
      sum.orders += 1;
      sum.amountMinor += BigInt(row.amount_minor);
      this.sums.set(row.currency, sum);
      this.rowsDrawn += 1;
    }
  }

  /** Draws the closing totals and ends the document; resolves once its last byte went to `onData`. */
  async finish(): Promise<{ rows: number; pages: number }> {
    this.checkTotals();
    let y: number;
    if (this.rowsDrawn === 0) {
      this.startTablePage();
      this.doc.font(BODY_FONT).fontSize(9).text('No orders match the filters.', PDF_PAGE.margin, rowTop(0), {
        lineBreak: false,
      });
      y = rowTop(0) + PDF_ROW_HEIGHT;
    } else {
      y = rowTop(this.rowsDrawn - 1) + PDF_ROW_HEIGHT;
    }
    if (this.plan.totalsOnOwnPage) {
      this.startTablePage();
      y = PDF_PAGE.margin + PDF_HEADER_HEIGHT;
    }
    if (y + totalsBlockHeight(this.info.totals.length) > PDF_CONTENT_BOTTOM) {
      throw new Error('The page plan left no room for the totals');
    }
    this.drawTotals(y + 14, 'Totals');
    if (this.page !== this.plan.pageCount) {
      throw new Error(`Rendered ${this.page} pages, planned ${this.plan.pageCount}`);
    }
    this.doc.end();
    await this.ended;
    return { rows: this.rowsDrawn, pages: this.page };
  }

  private drawTitlePage(): void {
    const { doc, info } = this;
    this.addPage();
    const x = PDF_PAGE.margin;
    doc.font(BOLD_FONT).fontSize(20).text('Orders report', x, 80, { lineBreak: false });
    doc.font(BODY_FONT).fontSize(10);
    doc.text(`Job ${info.jobId}`, x, 116, { lineBreak: false });
    doc.text(`Generated ${info.generatedAt}`, x, 132, { lineBreak: false });
    doc.text(`Filters: ${describeFilters(info.filters)}`, x, 148, { lineBreak: false });
    this.drawTotals(180, 'Totals');
  }

  /** A heading, "Currency / Orders / Total" lines from SQL's totals, and the row count. */
  private drawTotals(top: number, heading: string): void {
    const { doc } = this;
    const x = PDF_PAGE.margin;
    const ordersRight = x + 160;
    const totalRight = x + 300;
    doc.font(BOLD_FONT).fontSize(11).text(heading, x, top, { lineBreak: false });
    let y = top + 16;
    doc.fontSize(9);
    doc.text('Currency', x, y, { lineBreak: false });
    this.textRight('Orders', ordersRight, y);
    this.textRight('Total', totalRight, y);
    doc.font(BODY_FONT);
    for (const total of this.info.totals) {
      y += 12;
      doc.text(total.currency, x, y, { lineBreak: false });
      this.textRight(String(total.orders), ordersRight, y);
      this.textRight(formatMinorUnits(total.amountMinor, total.currency), totalRight, y);
    }
    y += 12;
    doc.font(BOLD_FONT).text(`Rows: ${this.info.rows}`, x, y, { lineBreak: false });
  }

  private startTablePage(): void {
    const { doc } = this;
    this.addPage();
    const top = PDF_PAGE.margin;
    doc.font(BOLD_FONT).fontSize(PDF_TABLE_FONT_SIZE + 1);
    for (const column of PDF_COLUMNS) this.cell(column.title, column, top + 2);
    doc
      .moveTo(PDF_PAGE.margin, top + PDF_HEADER_HEIGHT - 4)
      .lineTo(PDF_PAGE.width - PDF_PAGE.margin, top + PDF_HEADER_HEIGHT - 4)
      .lineWidth(0.5)
      .stroke();
    doc.font(BODY_FONT).fontSize(PDF_TABLE_FONT_SIZE);
  }

  private drawRow(row: OrderRow, y: number): void {
    const [id, customer, amount, currency, status, createdAt] = PDF_COLUMNS;
    if (!id || !customer || !amount || !currency || !status || !createdAt) return;
    this.cell(row.id, id, y);
    this.cell(row.customer_id, customer, y);
    this.cell(formatMinorUnits(row.amount_minor, row.currency), amount, y);
    this.cell(row.currency, currency, y);
    this.cell(row.status, status, y);
    this.cell(row.created_at.toISOString(), createdAt, y);
  }

  private cell(text: string, column: (typeof PDF_COLUMNS)[number], y: number): void {
    const fitted = fitText(text, column.width, (t) => this.doc.widthOfString(t));
    if (column.align === 'right') this.textRight(fitted, column.x + column.width, y);
    else this.doc.text(fitted, column.x, y, { lineBreak: false });
  }

  private textRight(text: string, right: number, y: number): void {
    this.doc.text(text, right - this.doc.widthOfString(text), y, { lineBreak: false });
  }

  private addPage(): void {
    const { doc } = this;
    doc.addPage();
    this.page += 1;
    const y = PDF_CONTENT_BOTTOM + 8;
    doc.font(BODY_FONT).fontSize(8);
    doc.text(`Orders report ${this.info.jobId}`, PDF_PAGE.margin, y, { lineBreak: false });
    this.textRight(pageLabel(this.page, this.plan.pageCount), PDF_PAGE.width - PDF_PAGE.margin, y);
  }

  /** Every row drawn adds up, per currency, to SQL's totals from the same snapshot. */
  private checkTotals(): void {
    if (this.rowsDrawn !== this.info.rows) {
      throw new PdfTotalsMismatchError(`${this.rowsDrawn} rows drawn, ${this.info.rows} counted`);
    }
    const expected = new Map(this.info.totals.map((t) => [t.currency, t]));
    const currencies = new Set([...expected.keys(), ...this.sums.keys()]);
    for (const currency of currencies) {
      const drawn = this.sums.get(currency) ?? { orders: 0, amountMinor: 0n };
      const counted = expected.get(currency);
      if (
        drawn.orders !== (counted?.orders ?? 0) ||
        drawn.amountMinor !== BigInt(counted?.amountMinor ?? 0)
      ) {
        throw new PdfTotalsMismatchError(`${currency} differs`);
      }
    }
  }
}

import type { MessagePort } from 'node:worker_threads';
import { orderRowsOf, type OrderColumns } from '../orders/order-columns.js';
import { OrdersPdfRenderer, type OrdersPdfInfo } from './orders-pdf-renderer.js';

/** The event loop's side of a PDF render: the next rows, or the end of them. */
export type ToPdfWorker =
  { readonly kind: 'rows'; readonly columns: OrderColumns } | { readonly kind: 'end' };

/** The worker's side: PDF bytes, a batch drawn (its rows, for progress and flow control), the last page out. */
export type FromPdfWorker =
  | { readonly kind: 'bytes'; readonly data: Uint8Array }
  | { readonly kind: 'rendered'; readonly rows: number }
  | { readonly kind: 'done'; readonly pages: number };

export interface RenderOrdersPdfInput {
  /** Transferred with the task; the event loop holds the other end. */
  readonly port: MessagePort;
  readonly info: OrdersPdfInfo;
}

/** PDF bytes are posted in pieces of about this size, so a page's worth is not a message per PDFKit write. */
const BYTES_PER_MESSAGE = 64 * 1024;

/**
 * A CPU pool task (runs on a worker thread for the whole render): receives row batches on `port`, draws
 * them with PDFKit, and posts the PDF's bytes back as they are produced, then 'rendered' for the batch.
 * Every message from this side goes over `port`, so 'done' arrives after the last bytes (the task's own
 * result travels on piscina's channel, in no particular order relative to ours). Closing the port from the
 * other side ends the task with an error.
 */
export function renderOrdersPdf({ port, info }: RenderOrdersPdfInput): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let finished = false;
    const flush = () => {
      if (pendingBytes === 0) return;
      // A fresh ArrayBuffer (not Buffer's shared pool), so it can be transferred rather than copied.
      const data = new Uint8Array(pendingBytes);
      let offset = 0;
      for (const piece of pending) {
        data.set(piece, offset);
        offset += piece.length;
      }
      pending = [];
      pendingBytes = 0;
      port.postMessage({ kind: 'bytes', data } satisfies FromPdfWorker, [data.buffer]);
    };
    const renderer = new OrdersPdfRenderer(info, (chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= BYTES_PER_MESSAGE) flush();
    });
    const fail = (error: unknown) => {
      if (finished) return;
      finished = true;
      port.close();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const handle = async (message: ToPdfWorker): Promise<void> => {
      switch (message.kind) {
        case 'rows':
          renderer.addRows(orderRowsOf(message.columns));
          // PDFKit may emit what it wrote on the next tick.
          await new Promise((next) => setImmediate(next));
          flush();
          port.postMessage({ kind: 'rendered', rows: message.columns.ids.length } satisfies FromPdfWorker);
          return;
        case 'end': {
          const { pages } = await renderer.finish();
          flush();
          port.postMessage({ kind: 'done', pages } satisfies FromPdfWorker);
          finished = true;
          port.close();
          resolve(pages);
          return;
        }
      }
    };
    let queue = Promise.resolve();
    port.on('message', (message: ToPdfWorker) => {
      queue = queue.then(() => (finished ? undefined : handle(message))).catch(fail);
    });
    port.on('close', () => {
      fail(new Error('The render was stopped before it finished'));
    });
  });
}

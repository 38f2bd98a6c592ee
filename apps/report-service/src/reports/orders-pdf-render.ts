import { MessageChannel } from 'node:worker_threads';
import type { CpuPool } from '../cpu/cpu-pool.js';
import type { OrderColumns } from '../orders/order-columns.js';
import type { OrdersPdfInfo } from './orders-pdf-renderer.js';
import type { FromPdfWorker, RenderOrdersPdfInput, ToPdfWorker } from './orders-pdf.task.js';

/** Batches sent to the worker and not yet drawn and written: bounds the memory a render holds. */
export const PDF_BATCHES_IN_FLIGHT = 2;

/** Where a render's output goes, on the event loop. */
export interface PdfRenderSink {
  /** Stores PDF bytes; the next bytes wait until this resolves. */
  write(bytes: Buffer): Promise<void>;
  /** `rows` more rows were drawn (and their bytes written). */
  rendered(rows: number): void;
}

/**
 * The event loop's end of one PDF render on a CPU pool thread (`renderOrdersPdf`): hands the worker row
 * batches, at most {@link PDF_BATCHES_IN_FLIGHT} ahead of what has been written, and writes the bytes it
 * sends back, in order. Aborting `signal`, or any failure (the worker's, or the sink's), terminates the
 * worker thread and fails `send`/`finish` at once with that reason.
 */
export class OrdersPdfRender {
  private readonly channel = new MessageChannel();
  private readonly stop = new AbortController();
  private readonly done: Promise<number>;
  private resolveDone: (pages: number) => void = () => undefined;
  private rejectDone: (error: unknown) => void = () => undefined;
  private failure: { readonly error: unknown } | undefined;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private handled: Promise<void> = Promise.resolve();
  private readonly onAbort: () => void;

  constructor(
    cpu: CpuPool,
    info: OrdersPdfInfo,
    private readonly sink: PdfRenderSink,
    private readonly signal: AbortSignal,
  ) {
    this.done = new Promise<number>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Observed through send() and finish(); this keeps an early failure from being unhandled meanwhile.
    this.done.catch(() => undefined);
    this.onAbort = () => {
      this.fail(signal.reason);
    };
    signal.addEventListener('abort', this.onAbort, { once: true });
    const port = this.channel.port1;
    port.on('message', (message: FromPdfWorker) => {
      this.handled = this.handled
        .then(() => this.handle(message))
        .catch((error: unknown) => {
          this.fail(error);
        });
    });
    const input: RenderOrdersPdfInput = { port: this.channel.port2, info };
    cpu
      .runLong<number>('renderOrdersPdf', input, AbortSignal.any([signal, this.stop.signal]), [
        this.channel.port2,
      ])
      .catch((error: unknown) => {
        this.fail(signal.aborted ? signal.reason : error);
      });
    if (signal.aborted) this.onAbort();
  }

  /** Hands the worker the next batch; resolves once it may take another. */
  async send(columns: OrderColumns): Promise<void> {
    while (this.inFlight >= PDF_BATCHES_IN_FLIGHT && !this.failure) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.throwIfFailed();
    this.post({ kind: 'rows', columns });
    this.inFlight += 1;
  }

  /** No more rows: resolves with the page count once the last byte is written. */
  async finish(): Promise<number> {
    this.throwIfFailed();
    this.post({ kind: 'end' });
    try {
      return await this.done;
    } finally {
      this.signal.removeEventListener('abort', this.onAbort);
    }
  }

  /** Stops the render (terminating its thread) unless it already finished; for error paths. */
  close(): void {
    this.fail(new Error('The PDF render was closed'));
    this.signal.removeEventListener('abort', this.onAbort);
  }

  private async handle(message: FromPdfWorker): Promise<void> {
    if (this.failure) return;
    switch (message.kind) {
      case 'bytes':
        await this.sink.write(
          Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength),
        );
        return;
      case 'rendered':
        this.inFlight -= 1;
        this.sink.rendered(message.rows);
        this.wake?.();
        return;
      case 'done':
        this.settled = true;
        this.channel.port1.close();
        this.resolveDone(message.pages);
        return;
    }
  }

  private settled = false;

  private fail(error: unknown): void {
    if (this.failure || this.settled) return;
    this.failure = { error };
    this.stop.abort(error);
    this.channel.port1.close();
    this.rejectDone(error);
    this.wake?.();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private post(message: ToPdfWorker): void {
    this.channel.port1.postMessage(message);
  }
}

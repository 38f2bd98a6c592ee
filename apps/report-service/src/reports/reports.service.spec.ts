import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ArtifactStore,
  ArtifactWriter,
  type Artifact,
  type ArtifactMetadata,
  type ChunkSink,
  type NewArtifact,
} from '#artifacts';
import { ReportEvents, type Contract, type GenerateReport, type Notify } from '#contracts';
import {
  JobContext,
  PermanentError,
  RetryableError,
  type EnvelopeMeta,
  type MessagePublisher,
} from '#messaging';
import { CpuPool } from '../cpu/cpu-pool.js';
import type { OrderRow } from '../orders/order.js';
import type { OrderFilters } from '../orders/order-filter.js';
import { OrdersRepository, type OrdersSnapshot } from '../orders/orders.repository.js';
import { ORDERS_CSV_HEADER, orderCsvRecord } from './orders-csv.js';
import { planPdfPages } from './orders-pdf-layout.js';
import { ReportInProgressError, ReportsService } from './reports.service.js';

const JOB_ID = '0b9f7c1e-8d1a-4c55-9a53-0d5e4a0f7b11';

interface StoredArtifact {
  readonly request: NewArtifact;
  readonly id: string;
  data: Buffer;
  status: 'writing' | 'complete';
  metadata: ArtifactMetadata;
}

/** The artifact store in memory: real ArtifactWriters over an in-memory sink. */
class MemoryArtifactStore extends ArtifactStore {
  readonly stored = new Map<string, StoredArtifact>();
  failAppend = false;
  private nextId = 1;

  constructor() {
    super(undefined as never);
  }

  override createWriter(request: NewArtifact): ArtifactWriter {
    const id = `artifact-${this.nextId++}`;
    const entry: StoredArtifact = { request, id, data: Buffer.alloc(0), status: 'writing', metadata: {} };
    const sink: ChunkSink = {
      begin: async () => {
        this.stored.set(id, entry);
      },
      append: async (_seq, data) => {
        if (this.failAppend) throw new Error('database went away');
        entry.data = Buffer.concat([entry.data, data]);
      },
      complete: async (_bytes, metadata) => {
        entry.status = 'complete';
        entry.metadata = metadata;
        return this.toArtifact(entry);
      },
      discard: async () => {
        this.stored.delete(id);
      },
    };
    return new ArtifactWriter(id, sink, 64);
  }

  override async findCompleteByJob(jobId: string): Promise<Artifact | undefined> {
    const entry = [...this.stored.values()].find((a) => a.request.jobId === jobId && a.status === 'complete');
    return entry && this.toArtifact(entry);
  }

  override async deleteIncompleteForJob(jobId: string): Promise<number> {
    const doomed = [...this.stored.values()].filter(
      (a) => a.request.jobId === jobId && a.status === 'writing',
    );
    for (const a of doomed) this.stored.delete(a.id);
    return doomed.length;
  }

  private toArtifact(entry: StoredArtifact): Artifact {
    return {
      id: entry.id,
      jobId: entry.request.jobId,
      tenant: entry.request.tenant,
      contentType: entry.request.contentType,
      filename: entry.request.filename,
      bytes: entry.data.length,
      status: entry.status,
      metadata: entry.metadata,
      createdAt: new Date(0),
      completedAt: entry.status === 'complete' ? new Date(0) : null,
      expiresAt: entry.request.expiresAt,
    };
  }
}

/** Orders served from memory in batches; records what the service asked for. */
class FakeOrders extends OrdersRepository {
  locked = false;
  batchesRequested = 0;
  /** Runs after each batch has been handed out (before the next is fetched). */
  afterBatch: (index: number) => void = () => undefined;

  constructor(private readonly rows: OrderRow[]) {
    super(undefined as never);
  }

  override async snapshot<T>(work: (orders: OrdersSnapshot) => Promise<T>): Promise<T> {
    return work({
      count: async () => this.rows.length,
      totals: async () => {
        const byCurrency = new Map<string, { orders: number; amount: bigint }>();
        for (const row of this.rows) {
          const sum = byCurrency.get(row.currency) ?? { orders: 0, amount: 0n };
          sum.orders += 1;
          sum.amount += BigInt(row.amount_minor);
          byCurrency.set(row.currency, sum);
        }
        return [...byCurrency]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, sum]) => ({ currency, orders: sum.orders, amountMinor: String(sum.amount) }));
      },
      batches: (_filters: OrderFilters | undefined, batchSize: number) => this.serve(batchSize),
      tryLock: async () => !this.locked,
    });
  }

  private async *serve(batchSize: number): AsyncGenerator<OrderRow[]> {
    this.batchesRequested += 1;
    for (let i = 0; i * batchSize < this.rows.length; i++) {
      yield this.rows.slice(i * batchSize, (i + 1) * batchSize);
      this.afterBatch(i);
    }
  }
}

function orders(count: number): OrderRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    customer_id: `cus_${i % 7}`,
    amount_minor: String(100 + i),
    currency: i % 4 === 0 ? 'JPY' : 'EUR',
    status: 'paid' as const,
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)),
  }));
}

/** The confirmed publisher, recording what was published. */
class FakePublisher implements Pick<MessagePublisher, 'publish'> {
  readonly published: { name: string; payload: unknown }[] = [];
  /** What each publish said besides its payload, in the same order. */
  readonly metas: EnvelopeMeta[] = [];

  async publish(contract: Contract, payload: unknown, meta: EnvelopeMeta = {}): Promise<void> {
    this.published.push({ name: contract.name, payload });
    this.metas.push(meta);
  }
}

function jobContext(
  options: {
    tenant?: string;
    controller?: AbortController;
    progress?: number[];
    notify?: Notify;
    replayCount?: number;
  } = {},
) {
  const {
    tenant = 'acme',
    controller = new AbortController(),
    progress = [],
    notify,
    replayCount = 0,
  } = options;
  return new JobContext(
    {
      messageId: 'm-1',
      type: 'report.generate',
      jobId: JOB_ID,
      tenant,
      attempt: 1,
      maxAttempts: 5,
      traceparent: undefined,
      notify,
      redelivered: false,
      publishedAt: undefined,
      replayCount,
      headers: {},
    },
    () => controller.signal,
    (percent) => progress.push(percent),
    5,
  );
}

const csv: GenerateReport = { format: 'csv', dataset: 'orders' };
const pdf: GenerateReport = { format: 'pdf', dataset: 'orders' };

describe(ReportsService.name, () => {
  // Real worker threads: rendering is what is under test.
  const cpu = new CpuPool(2);
  let artifacts: MemoryArtifactStore;
  let publisher: FakePublisher;

  beforeEach(() => {
    artifacts = new MemoryArtifactStore();
    publisher = new FakePublisher();
  });

  afterAll(async () => {
    await cpu.onApplicationShutdown();
  });

  function service(rows: OrderRow[]): { sut: ReportsService; fakeOrders: FakeOrders } {
    const fakeOrders = new FakeOrders(rows);
    return {
      sut: new ReportsService(
        fakeOrders,
        artifacts,
        { artifactRetentionMs: 3_600_000, artifactSweepIntervalMs: 60_000, artifactDeleteGraceMs: 0 },
        cpu,
        publisher,
      ),
      fakeOrders,
    };
  }

  it('renders the header and every row in order into one complete artifact', async () => {
    const rows = orders(2500);
    const { sut } = service(rows);
    const before = Date.now();

    const result = await sut.generate(csv, jobContext());

    const [stored] = [...artifacts.stored.values()];
    const expected = ORDERS_CSV_HEADER + rows.map(orderCsvRecord).join('');
    expect(stored?.data.toString()).toBe(expected);
    expect(stored).toMatchObject({ status: 'complete', metadata: { rows: 2500 } });
    expect(stored?.request).toMatchObject({
      jobId: JOB_ID,
      tenant: 'acme',
      contentType: 'text/csv',
      filename: `report-${JOB_ID}.csv`,
    });
    expect(stored!.request.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(result).toEqual({
      rows: 2500,
      bytes: Buffer.byteLength(expected),
      contentType: 'text/csv',
      artifactId: stored!.id,
    });
  });

  it('reports progress after each batch as the share of rows rendered', async () => {
    const progress: number[] = [];
    const { sut } = service(orders(2500));

    await sut.generate(csv, jobContext({ progress }));

    expect(progress).toEqual([40, 80, 100]);
  });

  it('renders an empty report as its header alone', async () => {
    const { sut } = service([]);

    const result = await sut.generate(csv, jobContext());

    expect(result).toMatchObject({ rows: 0, bytes: ORDERS_CSV_HEADER.length });
  });

  it('returns the existing artifact of a job that was already rendered, without rendering again', async () => {
    const first = service(orders(1500));
    const done = await first.sut.generate(csv, jobContext());
    const again = service(orders(1500));

    const result = await again.sut.generate(csv, jobContext());

    expect(result).toEqual(done);
    expect(again.fakeOrders.batchesRequested).toBe(0);
    expect(artifacts.stored.size).toBe(1);
  });

  it('deletes what an earlier, interrupted attempt left before rendering', async () => {
    const leftover = artifacts.createWriter({
      jobId: JOB_ID,
      tenant: 'acme',
      contentType: 'text/csv',
      filename: 'x.csv',
      expiresAt: new Date(),
    });
    await new Promise((resolve) => leftover.write('partial', resolve));
    const { sut } = service(orders(10));

    await sut.generate(csv, jobContext());

    expect(artifacts.stored.has(leftover.artifactId)).toBe(false);
    expect([...artifacts.stored.values()].map((a) => a.status)).toEqual(['complete']);
  });

  it('stops between batches when the job is aborted, deletes the partial artifact and rethrows', async () => {
    const controller = new AbortController();
    const { sut, fakeOrders } = service(orders(5000));
    fakeOrders.afterBatch = (index) => {
      if (index === 1) controller.abort(new Error('shutting down'));
    };

    await expect(sut.generate(csv, jobContext({ controller }))).rejects.toThrow('shutting down');

    expect(artifacts.stored.size).toBe(0);
  });

  it('deletes the partial artifact and rethrows when writing fails', async () => {
    artifacts.failAppend = true;
    const { sut } = service(orders(100));

    await expect(sut.generate(csv, jobContext())).rejects.toThrow('database went away');

    expect(artifacts.stored.size).toBe(0);
  });

  it('asks for a retry while another delivery of the same job holds its lock', async () => {
    const { sut, fakeOrders } = service(orders(10));
    fakeOrders.locked = true;

    const failure = sut.generate(csv, jobContext());

    await expect(failure).rejects.toBeInstanceOf(ReportInProgressError);
    await expect(failure).rejects.toBeInstanceOf(RetryableError);
    expect(artifacts.stored.size).toBe(0);
  });

  it('refuses a job without a tenant permanently', async () => {
    const { sut } = service(orders(10));
    const context = new JobContext(
      {
        messageId: 'm-1',
        type: 'report.generate',
        jobId: JOB_ID,
        tenant: undefined,
        attempt: 1,
        maxAttempts: 5,
        traceparent: undefined,
        notify: undefined,
        redelivered: false,
        publishedAt: undefined,
        replayCount: 0,
        headers: {},
      },
      () => new AbortController().signal,
      () => undefined,
      5,
    );

    await expect(sut.generate(csv, context)).rejects.toBeInstanceOf(PermanentError);
  });

  it('renders a PDF into one complete artifact with the planned pages, progress up to 100', async () => {
    const rows = orders(2500);
    const progress: number[] = [];
    const { sut } = service(rows);

    const result = await sut.generate(pdf, jobContext({ progress }));

    const [stored] = [...artifacts.stored.values()];
    const text = stored!.data.toString('latin1');
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(text.match(/\/Type \/Page\b/g)).toHaveLength(planPdfPages(2500, 2).pageCount);
    expect(stored).toMatchObject({ status: 'complete', metadata: { rows: 2500 } });
    expect(stored?.request).toMatchObject({
      contentType: 'application/pdf',
      filename: `report-${JOB_ID}.pdf`,
    });
    expect(result).toEqual({
      rows: 2500,
      bytes: stored!.data.length,
      contentType: 'application/pdf',
      artifactId: stored!.id,
    });
    expect(progress.at(-1)).toBe(100);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it('renders a PDF of no orders', async () => {
    const { sut } = service([]);

    const result = await sut.generate(pdf, jobContext());

    expect(result).toMatchObject({ rows: 0, contentType: 'application/pdf' });
    expect(result.bytes).toBeGreaterThan(1000);
  });

  it.each([csv, pdf])(
    'stops a $format render within a second of an abort mid-way, leaves no artifact and rethrows the reason',
    async (cmd) => {
      const controller = new AbortController();
      const { sut, fakeOrders } = service(orders(20_000));
      let abortedAt = 0;
      fakeOrders.afterBatch = (index) => {
        if (index === 2) {
          abortedAt = Date.now();
          controller.abort(new Error('job cancelled'));
        }
      };

      await expect(sut.generate(cmd, jobContext({ controller }))).rejects.toThrow('job cancelled');

      expect(Date.now() - abortedAt).toBeLessThan(1000);
      expect(artifacts.stored.size).toBe(0);
      expect(publisher.published).toEqual([]);
    },
  );

  it('fails a PDF render at once when the job is aborted while it waits in the worker', async () => {
    const controller = new AbortController();
    const { sut, fakeOrders } = service(orders(3000));
    // The abort lands while the worker, not the cursor, has the next move.
    fakeOrders.afterBatch = (index) => {
      if (index === 0) {
        setImmediate(() => {
          controller.abort(new Error('stop now'));
        });
      }
    };

    await expect(sut.generate(pdf, jobContext({ controller }))).rejects.toThrow('stop now');

    expect(artifacts.stored.size).toBe(0);
  });

  it('publishes report.ready with the result and the notify target, also for an existing artifact', async () => {
    const notify: Notify = { webhookUrl: 'https://hooks.example.com/done' };
    const { sut } = service(orders(1200));

    const first = await sut.generate(pdf, jobContext({ notify }));
    const again = await sut.generate(pdf, jobContext({ notify }));

    expect(again).toEqual(first);
    const ready = {
      jobId: JOB_ID,
      tenant: 'acme',
      artifactId: first.artifactId,
      format: 'pdf',
      rows: 1200,
      bytes: first.bytes,
      notify,
    };
    expect(publisher.published).toEqual([
      { name: ReportEvents.ready.name, payload: ready },
      { name: ReportEvents.ready.name, payload: ready },
    ]);
  });

  it("says which run of the job report.ready reports (a replay's replay-count; nothing for the first run)", async () => {
    const { sut } = service(orders(10));

    await sut.generate(csv, jobContext());
    await sut.generate(csv, jobContext({ replayCount: 2 }));

    expect(publisher.metas).toEqual([
      { jobId: JOB_ID, tenant: 'acme' },
      { jobId: JOB_ID, tenant: 'acme', replayCount: 2 },
    ]);
  });

  it('publishes report.ready without notify when the submission had none', async () => {
    const { sut } = service(orders(10));

    const result = await sut.generate(csv, jobContext());

    expect(publisher.published).toEqual([
      {
        name: ReportEvents.ready.name,
        payload: {
          jobId: JOB_ID,
          tenant: 'acme',
          artifactId: result.artifactId,
          format: 'csv',
          rows: 10,
          bytes: result.bytes,
        },
      },
    ]);
  });

  it('does not publish report.ready when rendering fails', async () => {
    artifacts.failAppend = true;
    const { sut } = service(orders(100));

    await expect(sut.generate(pdf, jobContext())).rejects.toThrow('database went away');

    expect(artifacts.stored.size).toBe(0);
    expect(publisher.published).toEqual([]);
  });
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SERVICE_NODE_OPTIONS } from '#bootstrap';
import { BrokerAdmin, TEST_RABBITMQ_URL, randomPrefix } from './broker-admin.js';
import { ChildService } from './child-service.js';
import { freePort } from './free-port.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { waitFor } from './wait-for.js';

export const SERVICES = ['gateway', 'report-service', 'payment-service', 'notification-service'] as const;
export type ServiceName = (typeof SERVICES)[number];

const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface StackOptions {
  /** Label for the prefix and database names. */
  readonly label: string;
  /** Extra environment for every service (API_KEYS, RETRY_TIERS, ORDERS_SEED_ROWS, ...). */
  readonly env?: Record<string, string>;
  readonly services?: readonly ServiceName[];
  /** Use this database instead of creating (and dropping) a fresh one. */
  readonly databaseUrl?: string;
  /** Extra node flags for every service (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /**
   * Use this broker instead of the shared one (a fault test's private node); the prefix's queues are then
   * left for the node's owner to throw away with the node.
   */
  readonly rabbitmqUrl?: string;
  /** How long each service may take to turn ready (report-service seeds ORDERS_SEED_ROWS first). */
  readonly readyTimeoutMs?: number;
}

/**
 * The built services (dist/) as separate processes against the real broker and database, under a fresh
 * prefix and a fresh database: what the end-to-end tests and the benchmarks run against.
 */
export class Stack {
  private constructor(
    readonly prefix: string,
    readonly databaseUrl: string,
    readonly urls: Readonly<Record<ServiceName, string>>,
    private readonly children: Map<ServiceName, ChildService>,
    private readonly database: TestDatabase | undefined,
    private readonly spawn: (service: ServiceName) => ChildService,
    private readonly sharedBroker: boolean,
  ) {}

  get processes(): ReadonlyMap<ServiceName, ChildService> {
    return this.children;
  }

  /** SIGTERMs `service` and waits for its exit (it stays down until {@link restart}). */
  async stopService(service: ServiceName): Promise<void> {
    const child = this.children.get(service);
    if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.kill('SIGTERM');
    await child.exited;
  }

  /** SIGKILLs `service` (a crash: no drain, nothing acked) and waits for its exit; {@link restart} brings it back. */
  async killService(service: ServiceName): Promise<void> {
    const child = this.children.get(service);
    if (!child) return;
    await child.stop();
  }

  /** Stops `service` if it runs, starts it again on the same port, and waits until it is ready. */
  async restart(service: ServiceName): Promise<void> {
    await this.stopService(service);
    this.children.set(service, this.spawn(service));
    await this.waitUntilReady(service);
  }

  static async start(options: StackOptions): Promise<Stack> {
    const entry = (service: ServiceName) => `${root}dist/apps/${service}/src/main.js`;
    if (!existsSync(entry('gateway')))
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const prefix = randomPrefix(options.label);
    const database = options.databaseUrl ? undefined : await createTestDatabase(options.label);
    const databaseUrl = options.databaseUrl ?? database?.url ?? '';
    const services = options.services ?? SERVICES;
    const urls = {} as Record<ServiceName, string>;
    const processes = new Map<ServiceName, ChildService>();
    for (const service of services) urls[service] = `http://127.0.0.1:${await freePort()}`;
    const spawn = (service: ServiceName) =>
      ChildService.node([...(options.nodeArgs ?? []), entry(service)], {
        PORT: new URL(urls[service]).port,
        CONVEYOR_PREFIX: prefix,
        RABBITMQ_URL: options.rabbitmqUrl ?? TEST_RABBITMQ_URL,
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: 'warn',
        ...(SERVICE_NODE_OPTIONS[service] ? { NODE_OPTIONS: SERVICE_NODE_OPTIONS[service] } : {}),
        ...options.env,
      });
    for (const service of services) processes.set(service, spawn(service));
    const stack = new Stack(
      prefix,
      databaseUrl,
      urls,
      processes,
      database,
      spawn,
      options.rabbitmqUrl === undefined,
    );
    try {
      await Promise.all(services.map((s) => stack.waitUntilReady(s, options.readyTimeoutMs)));
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  async waitUntilReady(service: ServiceName, timeoutMs = 60_000): Promise<void> {
    const child = this.processes.get(service);
    await waitFor(
      async () => {
        if (child && child.process.exitCode !== null) {
          throw new Error(`${service} exited with ${child.process.exitCode}:\n${child.stdout.slice(-3000)}`);
        }
        const response = await fetch(`${this.urls[service]}/health/ready`, {
          signal: AbortSignal.timeout(2000),
        });
        return response.status === 200;
      },
      { timeoutMs, description: `${service} ready`, intervalMs: 100 },
    );
  }

  private client?: Promise<pg.Client>;

  /** Runs SQL against the stack's database directly (to compare what the services did with the truth). */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    this.client ??= (async () => {
      const client = new pg.Client({ connectionString: this.databaseUrl });
      await client.connect();
      return client;
    })();
    return (await (await this.client).query<R>(text, values)).rows;
  }

  /** SIGTERM everything, wait for the exits, then remove the prefix's queues and the database. */
  async stop(): Promise<void> {
    await (await this.client)?.end().catch(() => undefined);
    for (const child of this.processes.values()) child.kill('SIGTERM');
    await Promise.all(
      [...this.processes.values()].map(async (child) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
        }, 30_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
    if (this.sharedBroker) {
      const admin = await BrokerAdmin.connect();
      await admin.deleteEverything(this.prefix);
      await admin.close();
    }
    await this.database?.drop();
  }

  /**
   * Starts each service's peak resident memory (VmHWM) over from what it holds now (Linux's `clear_refs`
   * 5), so that {@link peakRssMiB} tells the peak of what follows: a workload's, without the start-up's.
   */
  resetPeakRss(): void {
    for (const child of this.processes.values()) writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
  }

  /** Peak resident memory (VmHWM) of each service since it started (or since {@link resetPeakRss}), in MiB. */
  peakRssMiB(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [service, child] of this.processes) result[service] = readVmHwmMiB(child.pid);
    return result;
  }

  /**
   * The services' resident memory now, summed: RSS, and PSS, which splits the pages processes share
   * (mostly node's own code) between them, so its sum is what they take together.
   */
  memoryMiB(): { rss: number; pss: number } {
    let rss = 0;
    let pss = 0;
    for (const child of this.processes.values()) {
      const field = procKiB(child.pid, 'smaps_rollup');
      rss += field('Rss');
      pss += field('Pss');
    }
    return { rss: Math.round(rss / 1024), pss: Math.round(pss / 1024) };
  }
}

/**
 * The `Name:   N kB` fields of /proc/<pid>/<file>, read once: `procKiB(pid, 'status')('VmRSS')`. A field
 * that is not there reads NaN; a process that is gone throws.
 */
export function procKiB(pid: number, file: 'status' | 'smaps_rollup'): (field: string) => number {
  const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
  return (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
}

export function readVmHwmMiB(pid: number): number {
  try {
    return Math.round(procKiB(pid, 'status')('VmHWM') / 1024);
  } catch {
    return Number.NaN;
  }
}

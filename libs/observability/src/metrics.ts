import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every service's Prometheus metrics (API.md, "Health and metrics"). Labels stay bounded: kinds,
 * statuses, queue names and route patterns, never job ids or raw URLs.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly jobsSubmitted = new Counter({
    name: 'conveyor_jobs_submitted_total',
    help: 'Jobs accepted (202) by the gateway',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly jobsFinished = new Counter({
    name: 'conveyor_jobs_finished_total',
    help: 'Jobs that reached a terminal status',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'conveyor_job_duration_seconds',
    help: 'From submission to terminal status',
    labelNames: ['kind'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly messagesHandled = new Counter({
    name: 'conveyor_messages_handled_total',
    help: 'Deliveries settled by this service, by outcome',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly messagesRetried = new Counter({
    name: 'conveyor_messages_retried_total',
    help: 'Deliveries republished to a retry tier',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly messagesDeadLettered = new Counter({
    name: 'conveyor_messages_dead_lettered_total',
    help: 'Deliveries sent to a dead-letter queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly handlerDuration = new Histogram({
    name: 'conveyor_message_handling_seconds',
    help: 'From delivery to settlement',
    labelNames: ['queue'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'conveyor_http_request_duration_seconds',
    help: 'HTTP requests, by route pattern',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    // Process metrics, including event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /** Age (since first publish) of the message delivered last from each queue: the head of a backed-up queue. */
  private readonly headAge = new Map<string, number>();

  recordDelivery(queue: string, waitedSeconds: number): void {
    this.headAge.set(queue, waitedSeconds);
  }

  /** Ready messages and consumers of each queue this service consumes, and of its dead-letter queue. */
  queueDepth(read: () => Promise<readonly { queue: string; ready: number; consumers: number }[]>): void {
    let last: Promise<readonly { queue: string; ready: number; consumers: number }[]> | undefined;
    // Both gauges are filled from one read per scrape.
    const sample = () => (last ??= read().finally(() => setImmediate(() => (last = undefined))));
    new Gauge({
      name: 'conveyor_queue_messages_ready',
      help: 'Messages ready in a queue this service consumes (and its .dlq)',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const q of await sample()) this.set({ queue: q.queue }, q.ready);
      },
    });
    new Gauge({
      name: 'conveyor_queue_consumers',
      help: 'Consumers attached to a queue this service consumes (and its .dlq)',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const q of await sample()) this.set({ queue: q.queue }, q.consumers);
      },
    });
    const headAge = this.headAge;
    new Gauge({
      name: 'conveyor_queue_oldest_message_age_seconds',
      help: 'Age of the oldest waiting message (0 when empty; from the latest delivery, so unknown for queues nobody consumes)',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const q of await sample()) {
          if (q.ready === 0) this.set({ queue: q.queue }, 0);
          else if (headAge.has(q.queue)) this.set({ queue: q.queue }, headAge.get(q.queue) ?? 0);
        }
      },
    });
  }

  /**
   * A gauge read at scrape time (outbox backlog, ...). A read that fails (Postgres down) makes it NaN for
   * that scrape instead of failing the whole scrape: the process's other metrics matter most in an outage.
   */
  gauge(name: string, help: string, read: () => Promise<number> | number): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await Promise.resolve(read()).catch(() => Number.NaN));
      },
    });
  }

  /** A gauge with one label, every value read afresh at each scrape (series that vanish are dropped). */
  labelledGauge(
    name: string,
    help: string,
    label: string,
    read: () => Promise<ReadonlyMap<string, number>>,
  ): Gauge {
    return new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        // A read that fails leaves no series for that scrape (see gauge()).
        const values = await read().catch(() => new Map<string, number>());
        this.reset();
        for (const [value, n] of values) this.set({ [label]: value }, n);
      },
    });
  }
}

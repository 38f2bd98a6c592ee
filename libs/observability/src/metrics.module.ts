import {
  Controller,
  Get,
  Header,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AmqpConnection, AmqpTransport, QueueInspector, traceIdOf } from '#messaging';
import { isLogEnabled } from './logging.js';
import { Metrics } from './metrics.js';

@Controller()
class MetricsController {
  constructor(@Inject(Metrics) private readonly metrics: Metrics) {}

  /** Prometheus text; no API key (keep it off the public ingress). */
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** Counts what the transport settles, by queue and outcome, and logs one line per message handled. */
class TransportMetrics implements OnModuleInit {
  private readonly logger = new Logger('Messages');
  private observing = false;

  constructor(
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(ModuleRef) private readonly modules: ModuleRef,
  ) {}

  onModuleInit(): void {
    // A connected microservice runs the init hooks of the shared modules a second time.
    if (this.observing) return;
    this.observing = true;
    const transport = this.modules.get(AmqpTransport, { strict: false });
    const inspector = new QueueInspector(this.modules.get(AmqpConnection, { strict: false }));
    this.metrics.queueDepth(async () => {
      const queues = transport.queues.flatMap((q) => [q, `${q}.dlq`]);
      const depths = await Promise.all(
        queues.map(async (queue) => [queue, await inspector.depth(queue)] as const),
      );
      return depths.flatMap(([queue, depth]) => (depth ? [{ queue, ...depth }] : []));
    });
    transport.observe(
      ({ queue, type, outcome, seconds, jobId, tenant, attempt, messageId, traceparent, waitedSeconds }) => {
        if (waitedSeconds !== undefined) this.metrics.recordDelivery(queue, waitedSeconds);
        if (isLogEnabled('info')) {
          this.logger.log({
            msg: `${type} ${outcome}`,
            queue,
            outcome,
            ms: Math.round(seconds * 1000),
            jobId,
            correlationId: jobId,
            tenant,
            attempt,
            messageId,
            traceId: traceIdOf(traceparent),
          });
        }
        this.metrics.messagesHandled.inc({ queue, outcome });
        this.metrics.handlerDuration.observe({ queue }, seconds);
        if (outcome === 'retried') this.metrics.messagesRetried.inc({ queue });
        if (outcome === 'dead-lettered') this.metrics.messagesDeadLettered.inc({ queue });
      },
    );
  }
}

@Module({})
export class MetricsModule {
  static forRoot(service: string): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: Metrics, useValue: new Metrics(service) }, TransportMetrics],
      exports: [Metrics],
    };
  }
}

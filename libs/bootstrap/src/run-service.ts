import 'reflect-metadata';
import { Logger, type DynamicModule, type INestApplication } from '@nestjs/common';
import { SpanKind, type Span } from '@opentelemetry/api';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CommonConfig } from '#config';
import type { ReadinessCheck } from '#health';
import {
  createLogger,
  isLogEnabled,
  Metrics,
  PinoNestLogger,
  startTracing,
  stopTracing,
} from '#observability';
import {
  contextFrom,
  spansAreEnabled,
  startTransport,
  traceIdOf,
  traceparentOf,
  tracer,
  type AmqpTransport,
  type MessagePublisher,
  type MessagingOptions,
} from '#messaging';

export interface ServiceDefinition {
  /** `gateway`, `report-service`, ... */
  readonly name: string;
  readonly module: DynamicModule;
  readonly config: CommonConfig & { readonly PORT: number };
  /** Attach the AMQP transport so the module's `@EventPattern` handlers consume. */
  readonly consumes: boolean;
  /** Listen address; all interfaces by default so containers and probes reach it. */
  readonly host?: string;
  /** App-level setup before listening: global filters, OpenAPI, ... */
  readonly configure?: (app: NestFastifyApplication) => void | Promise<void>;
}

/** JSON lines in production, human-readable otherwise, unless LOG_FORMAT says which. */
function serviceLogger(
  name: string,
  settings: { LOG_LEVEL?: string; LOG_FORMAT?: string; NODE_ENV?: string },
): PinoNestLogger {
  const level =
    (['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).find((l) => l === settings.LOG_LEVEL) ??
    'info';
  const format =
    settings.LOG_FORMAT === 'json' || settings.LOG_FORMAT === 'pretty'
      ? settings.LOG_FORMAT
      : settings.NODE_ENV === 'production'
        ? 'json'
        : 'pretty';
  return new PinoNestLogger(createLogger(name, level, format));
}

/** Creates the app, wires SIGTERM/SIGINT to a graceful close, starts consuming and listens on `PORT`. */
export async function createService(definition: ServiceDefinition): Promise<INestApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(definition.module, new FastifyAdapter(), {
    logger: serviceLogger(definition.name, definition.config),
    bufferLogs: false,
    // Fastify's own JSON parser only: Nest's default adds a form parser, and every API here is JSON.
    bodyParser: false,
  });
  stopOnSignals(app, definition);
  acceptEmptyJson(app);
  measureHttp(app);
  await definition.configure?.(app);
  if (definition.consumes) await startTransport(app);
  await app.listen(definition.config.PORT, definition.host ?? '0.0.0.0');
  new Logger(definition.name).log(
    `${definition.name} listening on http://127.0.0.1:${definition.config.PORT}`,
  );
  return app;
}

/**
 * An empty body sent as `application/json` is no body, not a 400: routes that take none (cancel, replay
 * without an edit) are called that way by many clients. A route that needs a body still says so (400,
 * "body: must be a JSON object"). Everything else is Fastify's own JSON parser.
 */
function acceptEmptyJson(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString(); // parseAs 'string': it is one already
    if (text.trim() === '') done(null, undefined);
    else void parse(request, text, done);
  });
}

/**
 * Request durations by route pattern (never the raw URL: ids would explode the label set), and one log
 * line per request (probes and scrapes at debug level, so they do not drown the rest).
 */
function measureHttp(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics, { strict: false });
  const logger = new Logger('Http');
  const fastify = app.getHttpAdapter().getInstance();
  // A server span per request, child of the caller's traceparent; handlers find it on the request.
  if (spansAreEnabled()) {
    fastify.addHook('onRequest', (request, _reply, done) => {
      const incoming =
        typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined;
      (request as TracedRequest).span = tracer.startSpan(
        `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method } },
        contextFrom(incoming),
      );
      done();
    });
  }
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const span = (request as TracedRequest).span;
    span?.setAttribute('http.response.status_code', reply.statusCode);
    span?.end();
    const probe = route.startsWith('/health') || route === '/metrics';
    if (!isLogEnabled(probe ? 'debug' : 'info')) {
      done();
      return;
    }
    const line = {
      msg: `${request.method} ${route} ${reply.statusCode}`,
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      tenant: (request as { principal?: { tenant?: string } }).principal?.tenant,
      traceId: traceIdOf(
        span
          ? traceparentOf(span)
          : typeof request.headers.traceparent === 'string'
            ? request.headers.traceparent
            : undefined,
      ),
    };
    if (probe) logger.debug(line);
    else logger.log(line);
    done();
  });
}

/** A request carrying its server span (set by the onRequest hook). */
export interface TracedRequest {
  span?: Span;
}

/**
 * SIGTERM/SIGINT → `app.close()` (readiness 503, consumers drain within SHUTDOWN_GRACE, connections close)
 * → exit 0. Nest's own shutdown hooks re-raise the signal afterwards, which reads as a crash (143) to
 * supervisors; a close that hangs past the grace is cut off with exit 1.
 */
function stopOnSignals(app: INestApplication, definition: ServiceDefinition): void {
  const logger = new Logger(definition.name);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: draining and shutting down`);
    setTimeout(() => {
      logger.error('Shutdown did not finish in time; exiting');
      process.exit(1);
    }, definition.config.SHUTDOWN_GRACE + 5000).unref();
    app
      .close()
      .then(stopTracing)
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`Shutdown failed: ${String(error)}`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** For `main.ts`: start, or log why not and exit non-zero. */
export function runService(
  name: string,
  definition: () => ServiceDefinition | Promise<ServiceDefinition>,
): void {
  // Logging is set up from the raw environment first, so even configuration and migration output is
  // structured; the validated configuration takes over once the app exists.
  Logger.overrideLogger(serviceLogger(name, process.env));
  Promise.resolve()
    .then(async () => {
      await startTracing(name);
      // Preparing the definition applies the service's migrations (and seed); MIGRATE_ONLY stops there, for
      // a migration Job that runs before a rollout.
      const prepared = await definition();
      if (process.env.MIGRATE_ONLY === 'true') {
        new Logger(prepared.name).log('Migrations applied (MIGRATE_ONLY): exiting');
        process.exit(0);
      }
      await createService(prepared);
    })
    .catch((error: unknown) => {
      new Logger('bootstrap').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    });
}

/** The messaging settings a service reads from the common configuration. */
export function messagingOptionsFrom(service: string, config: CommonConfig): MessagingOptions {
  return {
    service,
    url: config.RABBITMQ_URL,
    prefix: config.CONVEYOR_PREFIX,
    retryTiers: config.RETRY_TIERS,
    confirmTimeoutMs: config.PUBLISH_CONFIRM_TIMEOUT,
    shutdownGraceMs: config.SHUTDOWN_GRACE,
    leaseAfterMs: config.LEASE_AFTER,
  };
}

/** Readiness of the messaging side: the publisher can route (topology declared) and every consumer is attached. */
export function messagingReadiness(transport: AmqpTransport, publisher: MessagePublisher): ReadinessCheck[] {
  return [
    {
      name: 'broker',
      check: () => ({ up: publisher.isReady, detail: 'RabbitMQ unreachable or topology not declared' }),
    },
    {
      name: 'consumers',
      check: () => ({ up: transport.consumersAttached, detail: 'consumers not attached' }),
    },
  ];
}

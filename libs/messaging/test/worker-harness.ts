import 'reflect-metadata';
import {
  Controller,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { EchoCommands, type RunEcho } from '#contracts';
import {
  AmqpTransport,
  EventPattern,
  MessagePublisher,
  MessagingModule,
  startTransport,
  TopologyNames,
  type JobContext,
} from '#messaging';
import { TEST_RABBITMQ_URL } from '#testing';

export interface Delivery {
  readonly attempt: number;
  readonly redelivered: boolean;
  readonly at: number;
}

type Behaviour = (job: JobContext, cmd: RunEcho) => unknown;

/** What each job's handler does, and every delivery it saw; tests script it per job id. */
@Injectable()
export class Script {
  readonly behaviours = new Map<string, Behaviour>();
  readonly deliveries = new Map<string, Delivery[]>();

  deliveriesOf(jobId: string): Delivery[] {
    return this.deliveries.get(jobId) ?? [];
  }
}

@Controller()
class ScriptedEchoHandler {
  constructor(@Inject(Script) private readonly script: Script) {}

  @EventPattern(EchoCommands.run, { retry: { maxAttempts: 3 }, prefetch: 5 })
  async run(@Payload() cmd: RunEcho, @Ctx() job: JobContext): Promise<unknown> {
    const seen = this.script.deliveriesOf(job.jobId);
    this.script.deliveries.set(job.jobId, [
      ...seen,
      { attempt: job.attempt, redelivered: job.redelivered, at: Date.now() },
    ]);
    const behave = this.script.behaviours.get(job.jobId);
    return behave ? behave(job, cmd) : { echoed: cmd.message };
  }
}

@Module({})
class TestWorkerModule {}

export const TEST_TIERS = [1000, 2000];

export interface TestWorker {
  readonly app: INestApplication;
  readonly transport: AmqpTransport;
  readonly publisher: MessagePublisher;
  readonly script: Script;
  readonly names: TopologyNames;
  /** The echo.run work queue this worker consumes. */
  readonly queue: string;
}

/** A report-service-like worker in this process, on the real broker under `prefix`. */
export async function startTestWorker(
  prefix: string,
  shutdownGraceMs = 3000,
  leaseAfterMs?: number,
): Promise<TestWorker> {
  const module: DynamicModule = {
    module: TestWorkerModule,
    imports: [
      MessagingModule.forRoot({
        service: 'report-service',
        url: TEST_RABBITMQ_URL,
        prefix,
        retryTiers: TEST_TIERS,
        confirmTimeoutMs: 5000,
        shutdownGraceMs,
        ...(leaseAfterMs === undefined ? {} : { leaseAfterMs }),
      }),
    ],
    controllers: [ScriptedEchoHandler],
    providers: [Script],
  };
  const app = await NestFactory.create(module, new FastifyAdapter(), { logger: ['error'] });
  const transport = await startTransport(app);
  await app.init();
  await transport.waitUntilAttached();
  const names = new TopologyNames(prefix);
  return {
    app,
    transport,
    publisher: app.get(MessagePublisher),
    script: app.get(Script),
    names,
    queue: names.workQueue('report-service', EchoCommands.run.name),
  };
}

export function echo(message: string): RunEcho {
  return { message, failTimes: 0, failPermanently: false, cpuMs: 0 };
}

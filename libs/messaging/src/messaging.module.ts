import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type INestApplication,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AmqpConnection } from './amqp-connection.js';
import { AmqpTransport } from './amqp.transport.js';
import { HandlerErrorsFilter } from './handler-errors.filter.js';
import { MessagePublisher } from './publisher.js';
import { DEFAULT_LEASE_AFTER_MS } from './leases.js';
import {
  describeCommandQueues,
  describeCoreTopology,
  describeSubscriptionQueues,
  mergeTopologies,
  TopologyNames,
} from './topology.js';

export interface MessagingOptions {
  /** This service's name (`gateway`, `report-service`, ...): queue names, `appId`, `failed-by`. */
  readonly service: string;
  readonly url: string;
  readonly prefix: string;
  readonly retryTiers: readonly number[];
  readonly confirmTimeoutMs: number;
  readonly shutdownGraceMs: number;
  /** See the transport's leases; 5 minutes when absent. */
  readonly leaseAfterMs?: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** Closes what the transport and publisher used, last, after HTTP and the consumers have stopped. */
@Injectable()
class MessagingShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(AmqpTransport) private readonly transport: AmqpTransport,
    @Inject(MessagePublisher) private readonly publisher: MessagePublisher,
    @Inject(AmqpConnection) private readonly connection: AmqpConnection,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.transport.drain();
    await this.publisher.close();
    await this.connection.close();
  }
}

@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    const names = new TopologyNames(options.prefix);
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        {
          provide: AmqpConnection,
          useFactory: () =>
            new AmqpConnection({
              url: options.url,
              connectionName: `${options.prefix}/${options.service}@${hostname()}/${process.pid}`,
            }),
        },
        {
          provide: MessagePublisher,
          inject: [AmqpConnection],
          useFactory: (connection: AmqpConnection) =>
            new MessagePublisher(connection, {
              names,
              appId: options.service,
              confirmTimeoutMs: options.confirmTimeoutMs,
              // Every command's queue exists before the first command is published, whichever service
              // starts first, so a command is never dropped for want of its consumer having run once.
              topology: mergeTopologies([
                describeCoreTopology(names),
                describeCommandQueues(names, waitTiers(options)),
                describeSubscriptionQueues(names, waitTiers(options)),
              ]),
            }),
        },
        {
          provide: AmqpTransport,
          inject: [AmqpConnection, MessagePublisher],
          useFactory: (connection: AmqpConnection, publisher: MessagePublisher) =>
            new AmqpTransport(connection, publisher, {
              names,
              service: options.service,
              retryTiers: options.retryTiers,
              shutdownGraceMs: options.shutdownGraceMs,
              leaseAfterMs: leaseAfterOf(options),
            }),
        },
        MessagingShutdown,
      ],
      exports: [MESSAGING_OPTIONS, AmqpConnection, MessagePublisher, AmqpTransport],
    };
  }
}

/** Connects the AMQP transport to an app so its `@EventPattern` handlers consume. Call before `listen`. */
export async function startTransport(app: INestApplication): Promise<AmqpTransport> {
  const transport = app.get(AmqpTransport);
  const microservice = app.connectMicroservice(
    { strategy: transport },
    { inheritAppConfig: false, deferInitialization: true },
  );
  microservice.useGlobalFilters(new HandlerErrorsFilter());
  await app.startAllMicroservices();
  return transport;
}

function leaseAfterOf(options: MessagingOptions): number {
  return options.leaseAfterMs ?? DEFAULT_LEASE_AFTER_MS;
}

/** Every wait queue a work queue has: one per retry tier, and the lease's. */
export function waitTiers(options: MessagingOptions): number[] {
  return [...new Set([...options.retryTiers, leaseAfterOf(options)])];
}

import { PrivatePostgres, PrivateRabbit, Stack, type PrivateRabbitOptions, type ServiceName } from '#testing';

export const KEY = 'fault-key';

/** What every fault scenario runs against: its own broker node, its own Postgres cluster, the four services. */
export interface FaultEnv {
  readonly rabbit: PrivateRabbit;
  readonly postgres: PrivatePostgres;
  readonly stack: Stack;
  /** Stops the services, then the broker and the cluster, and removes their directories. */
  teardown(): Promise<void>;
}

export interface FaultEnvOptions extends PrivateRabbitOptions {
  readonly label: string;
  readonly env?: Record<string, string>;
  readonly services?: readonly ServiceName[];
  readonly readyTimeoutMs?: number;
}

export async function startFaultEnv(options: FaultEnvOptions): Promise<FaultEnv> {
  const started: { rabbit?: PrivateRabbit; postgres?: PrivatePostgres; stack?: Stack } = {};
  const teardown = async () => {
    await started.stack?.stop().catch((error: unknown) => {
      process.stderr.write(`stack.stop failed: ${String(error)}\n`);
    });
    await started.rabbit?.destroy();
    await started.postgres?.destroy();
  };
  try {
    [started.rabbit, started.postgres] = await Promise.all([
      PrivateRabbit.start(options),
      PrivatePostgres.start(),
    ]);
    started.stack = await Stack.start({
      label: options.label,
      rabbitmqUrl: started.rabbit.url,
      databaseUrl: started.postgres.url(),
      ...(options.services ? { services: options.services } : {}),
      ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
      env: {
        API_KEYS: `fault:${KEY}:jobs:write+jobs:read+admin`,
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        RETRY_TIERS: '200ms,500ms,1s',
        ORDERS_SEED_ROWS: '2000',
        // One key submits everything: the per-key rate limit and per-tenant cap would measure themselves.
        RATE_LIMIT_PER_SECOND: '1000000',
        RATE_LIMIT_BURST: '1000000',
        MAX_IN_FLIGHT_PER_TENANT: '10000000',
        ...options.env,
      },
    });
    const { rabbit, postgres, stack } = started;
    return { rabbit, postgres, stack, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** The prefix's queues that hold messages right now (`name: ready+unacked`), e.g. a DLQ nobody drains. */
export async function nonEmptyQueues(env: FaultEnv): Promise<string> {
  const rows = JSON.parse(
    await env.rabbit.ctl(['list_queues', '-q', '--formatter', 'json', 'name', 'messages']),
  ) as { name: string; messages: number }[];
  const busy = rows.filter((r) => r.name.startsWith(`${env.stack.prefix}.`) && r.messages > 0);
  return busy.map((r) => `${r.name.slice(env.stack.prefix.length + 1)}: ${r.messages}`).join(', ') || 'none';
}

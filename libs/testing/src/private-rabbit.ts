import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

const RABBITMQ_BIN = process.env.RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';
/** The shared node's cookie: the private node uses it too, so `rabbitmqctl -n` reaches both. */
const SHARED_COOKIE = process.env.RABBITMQ_COOKIE_FILE ?? '/var/lib/rabbitmq/.erlang.cookie';

export interface PrivateRabbitOptions {
  /** `consumer_timeout` in rabbitmq.conf (ms); RabbitMQ's own default (30 min) when unset. */
  readonly consumerTimeoutMs?: number;
  /**
   * How often each channel checks its deliveries against `consumer_timeout` (RabbitMQ's `rabbit`
   * application env `channel_tick_interval`, 60 s by default): with the default, a delivery is closed on
   * somewhere between one and two timeouts; a short tick makes it happen right after one.
   */
  readonly channelTickIntervalMs?: number;
}

/**
 * A RabbitMQ node of our own, on spare ports and in a temporary directory, that a fault test may SIGKILL
 * and start again: never the shared broker on 5672. It runs in the foreground as a child process (the
 * `rabbitmq-server` script is the parent of the beam), its data survives {@link kill} + {@link start},
 * and {@link destroy} removes it and its directory.
 */
export class PrivateRabbit {
  private server?: ChildProcess;
  private exited?: Promise<void>;
  private output = '';

  private constructor(
    readonly node: string,
    readonly port: number,
    private readonly distPort: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** The node's log file (channel errors, consumer timeouts, ...). */
  get logFile(): string {
    return join(this.dir, 'log', `${this.node}.log`);
  }

  static async start(options: PrivateRabbitOptions = {}): Promise<PrivateRabbit> {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-fault-rabbit-'));
    const rabbit = new PrivateRabbit(
      `conveyor-fault-${randomBytes(4).toString('hex')}@localhost`,
      await freePort(),
      await freePort(),
      dir,
    );
    mkdirSync(join(dir, 'mnesia'));
    mkdirSync(join(dir, 'log'));
    copyFileSync(SHARED_COOKIE, join(dir, '.erlang.cookie'));
    // An empty env file: /etc/rabbitmq/rabbitmq-env.conf names the shared node.
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    // The listener comes from RABBITMQ_NODE_PORT: a `listeners.tcp.*` line as well fails with eaddrinuse.
    writeFileSync(
      join(dir, 'rabbitmq.conf'),
      [
        'loopback_users = none',
        'log.file.level = info',
        ...(options.consumerTimeoutMs === undefined
          ? []
          : [`consumer_timeout = ${options.consumerTimeoutMs}`]),
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'advanced.config'),
      options.channelTickIntervalMs === undefined
        ? '[].\n'
        : `[{rabbit, [{channel_tick_interval, ${options.channelTickIntervalMs}}]}].\n`,
    );
    try {
      await rabbit.start();
    } catch (error) {
      await rabbit.destroy();
      throw error;
    }
    return rabbit;
  }

  /** Starts the node (again, on the same data) and waits until it boots. */
  async start(): Promise<void> {
    if (this.isRunning) return;
    const dir = this.dir;
    rmSync(this.pidFile, { force: true });
    const server = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
      cwd: dir,
      env: {
        ...process.env,
        HOME: dir,
        RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
        RABBITMQ_NODENAME: this.node,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
        RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_PID_FILE: this.pidFile,
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.server = server;
    this.output = '';
    for (const stream of [server.stdout, server.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.output = (this.output + chunk).slice(-20_000);
      });
    }
    this.exited = new Promise((resolve) =>
      server.once('exit', () => {
        resolve();
      }),
    );
    await waitFor(() => existsSync(this.pidFile) || server.exitCode !== null, {
      timeoutMs: 60_000,
      description: `the pid file of ${this.node}`,
    });
    if (server.exitCode !== null)
      throw new Error(`${this.node} exited at once:\n${this.output.slice(-3000)}`);
    try {
      await this.ctl(['await_startup', '--timeout', '90'], 100_000);
    } catch (error) {
      throw new Error(`${this.node} did not start: ${String(error)}\n${this.output.slice(-3000)}`);
    }
  }

  get isRunning(): boolean {
    return this.server !== undefined && this.server.exitCode === null && this.server.signalCode === null;
  }

  /** The beam's OS pid (the `rabbitmq-server` script is only its parent). */
  get beamPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** `kill -9` of the beam: a crash, no clean shutdown; data on disk stays for the next {@link start}. */
  async kill(): Promise<void> {
    const pid = this.beamPid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.server?.kill('SIGKILL');
    await this.exited;
    process.off('exit', this.killOnExit);
    await waitFor(() => !processAlive(pid), { timeoutMs: 10_000, description: `beam ${pid} to exit` });
  }

  /** Runs `rabbitmqctl -n <this node> ...` and returns its stdout. */
  async ctl(args: readonly string[], timeoutMs = 30_000): Promise<string> {
    const { stdout } = await run(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', this.node, ...args], {
      env: { ...process.env, HOME: this.dir },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /** Open channels (for checking that the broker closed none of them). */
  async channelCount(): Promise<number> {
    const rows = JSON.parse(
      await this.ctl(['list_channels', '-q', '--formatter', 'json', 'name']),
    ) as unknown[];
    return rows.length;
  }

  /** What the node logged (its log file). */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  private readonly killOnExit = (): void => {
    const pid = this.beamPid;
    if (pid !== undefined && processAlive(pid)) process.kill(pid, 'SIGKILL');
  };

  /** Kills the node and removes its directory. */
  async destroy(): Promise<void> {
    if (this.isRunning) await this.kill().catch(() => undefined);
    process.off('exit', this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get pidFile(): string {
    return join(this.dir, 'rabbitmq.pid');
  }
}

function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

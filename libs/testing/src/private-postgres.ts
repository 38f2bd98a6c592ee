import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Where initdb and pg_ctl live: /usr/local/bin on this machine, else Debian's versioned folder. */
const PG_BIN =
  process.env.PG_BIN ??
  (existsSync('/usr/local/bin/pg_ctl') ? '/usr/local/bin' : '/usr/lib/postgresql/15/bin');
/** Postgres refuses to run as root: as root, the cluster belongs to (and runs as) this user. */
const PG_USER = process.env.PG_USER ?? 'postgres';

/**
 * A Postgres cluster of our own (initdb in a temporary directory, a spare port, trust auth) that a fault
 * test may stop, crash and start again: never the shared server on 5432. {@link destroy} stops it and
 * removes its directory.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** A URL for `database` on this cluster (created by the services' own `ensureDatabaseExists`). */
  url(database = 'conveyor'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-fault-pg-'));
    const pg = new PrivatePostgres(await freePort(), dir);
    try {
      if (userInfo().uid === 0) {
        const { stdout } = await run('id', ['-u', PG_USER]);
        const { stdout: gid } = await run('id', ['-g', PG_USER]);
        chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
      }
      await pg.as(join(PG_BIN, 'initdb'), ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '-N']);
      await pg.start();
      process.once('exit', pg.stopOnExit);
    } catch (error) {
      await pg.destroy();
      throw error;
    }
    return pg;
  }

  /**
   * Starts the cluster and waits until it accepts connections (after a crash, crash recovery first).
   * `fsync=off` is safe here: the faults are process crashes, never a lost OS page cache.
   */
  async start(): Promise<void> {
    await this.as(join(PG_BIN, 'pg_ctl'), [
      '-D',
      this.dataDir,
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`,
      '-l',
      join(this.dir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** `immediate` is a crash (no checkpoint, recovery on the next start); `fast` a clean shutdown. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.as(join(PG_BIN, 'pg_ctl'), ['-D', this.dataDir, '-m', mode, '-w', 'stop']);
  }

  // If the test process dies without its teardown, the cluster must not outlive it.
  private readonly stopOnExit = (): void => {
    if (!existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    try {
      execFileSync(...this.command(join(PG_BIN, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', 'stop']), {
        stdio: 'ignore',
        timeout: 10_000,
      });
    } catch {
      // Nothing more can be done while exiting.
    }
  };

  async destroy(): Promise<void> {
    process.off('exit', this.stopOnExit);
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async as(command: string, args: readonly string[]): Promise<void> {
    await run(...this.command(command, args), { cwd: this.dir, timeout: 120_000 });
  }

  /** As root, the command runs as the cluster's owner. */
  private command(command: string, args: readonly string[]): [string, string[]] {
    return userInfo().uid === 0 ? ['runuser', ['-u', PG_USER, '--', command, ...args]] : [command, [...args]];
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

/** A child Node process whose output the test can wait on (a worker to SIGKILL, a service to SIGTERM). */
export class ChildService {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly process: ChildProcess) {
    for (const stream of [process.stdout, process.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.output += chunk;
      });
    }
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => {
        resolve({ code, signal });
      }),
    );
  }

  /** Runs a TypeScript entry point from source (`#lib` imports resolve to `libs/*\/src`). */
  static typescript(entry: string, env: Record<string, string>): ChildService {
    return ChildService.node(
      ['--conditions=source', '--import', '@swc-node/register/esm-register', entry],
      env,
    );
  }

  static node(args: string[], env: Record<string, string>): ChildService {
    return new ChildService(
      spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get stdout(): string {
    return this.output;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
    return waitFor(() => pattern.exec(this.output) ?? undefined, {
      timeoutMs,
      description: `${pattern} in the output of pid ${this.pid}:\n${this.output.slice(-2000)}`,
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
    await this.exited;
  }
}

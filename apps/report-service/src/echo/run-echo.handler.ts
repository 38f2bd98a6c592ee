import { createHash } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { EchoCommands, JobKinds, type RunEcho } from '#contracts';
import { EventPattern, PermanentError, RetryableError, type JobContext } from '#messaging';
import { CpuPool } from '../cpu/cpu-pool.js';

export interface EchoResult {
  readonly message: string;
  readonly sha256: string;
}

/** Diagnostic jobs: exercise retries, dead-lettering and the CPU worker pool on demand. */
@Controller()
export class RunEchoHandler {
  constructor(@Inject(CpuPool) private readonly cpu: CpuPool) {}

  @EventPattern(EchoCommands.run, { retry: { maxAttempts: JobKinds.echo.maxAttempts }, prefetch: 200 })
  async run(@Payload() cmd: RunEcho, @Ctx() job: JobContext): Promise<EchoResult> {
    if (cmd.failPermanently) throw new PermanentError('Echo asked to fail permanently', 'permanent_failure');
    if (job.attempt <= cmd.failTimes) {
      throw new RetryableError(
        `Echo asked to fail ${cmd.failTimes} time(s); this was attempt ${job.attempt}`,
      );
    }
    // Off the event loop, on the worker pool; the job's abort signal stops it mid-way.
    if (cmd.cpuMs > 0) await this.cpu.burn(cmd.cpuMs, job.signal);
    return { message: cmd.message, sha256: createHash('sha256').update(cmd.message).digest('hex') };
  }
}

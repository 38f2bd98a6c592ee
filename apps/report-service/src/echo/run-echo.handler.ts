import { createHash } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { EchoCommands, JobKinds, type RunEcho } from '#contracts';
import { EventPattern, PermanentError, RetryableError, type JobContext } from '#messaging';

export interface EchoResult {
  readonly message: string;
  readonly sha256: string;
}

/** Diagnostic jobs: exercise retries, dead-lettering and (later) the worker pool on demand. */
@Controller()
export class RunEchoHandler {
  @EventPattern(EchoCommands.run, { retry: { maxAttempts: JobKinds.echo.maxAttempts }, prefetch: 200 })
  run(@Payload() cmd: RunEcho, @Ctx() job: JobContext): EchoResult {
    if (cmd.failPermanently) throw new PermanentError('Echo asked to fail permanently', 'permanent_failure');
    if (job.attempt <= cmd.failTimes) {
      throw new RetryableError(
        `Echo asked to fail ${cmd.failTimes} time(s); this was attempt ${job.attempt}`,
      );
    }
    return { message: cmd.message, sha256: createHash('sha256').update(cmd.message).digest('hex') };
  }
}

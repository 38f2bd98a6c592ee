import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isDatabaseTimeout, isDatabaseUnavailable } from '#database';
import {
  GoneError,
  IdempotencyConflictError,
  InvalidCursorError,
  InvalidInputError,
  TooManyRequestsError,
  JobNotFoundError,
  JobStateConflictError,
} from '../jobs/job-errors.js';
import { BrokerUnavailableError } from '../dead-letters/queue-stats.js';
import { ScheduleNotFoundError } from '../schedules/schedule-errors.js';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
}

/**
 * Maps domain errors to the API's error shape. A dependency outage is a 503 with Retry-After; anything
 * unexpected is logged and a 500 (which API.md calls a bug).
 */
@Catch()
export class HttpErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { body, headers } = this.describe(exception);
    void reply.status(body.statusCode).headers(headers).send(body);
  }

  private describe(exception: unknown): { body: ErrorBody; headers: Record<string, string> } {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const status = exception.getStatus();
      const message =
        typeof response === 'object' && 'message' in response
          ? (response as { message: string | string[] }).message
          : exception.message;
      return { body: body(status, message), headers: {} };
    }
    if (exception instanceof JobNotFoundError || exception instanceof ScheduleNotFoundError)
      return { body: body(404, exception.message), headers: {} };
    if (exception instanceof JobStateConflictError || exception instanceof IdempotencyConflictError) {
      return { body: body(409, exception.message), headers: {} };
    }
    if (exception instanceof GoneError) return { body: body(410, exception.message), headers: {} };
    if (exception instanceof InvalidCursorError) return { body: body(400, [exception.message]), headers: {} };
    if (exception instanceof TooManyRequestsError) {
      return {
        body: body(429, exception.message),
        headers: { 'retry-after': String(exception.retryAfterSeconds) },
      };
    }
    if (exception instanceof InvalidInputError) return { body: body(400, exception.problems), headers: {} };
    if (exception instanceof BrokerUnavailableError) {
      return { body: body(503, exception.message), headers: { 'retry-after': '5' } };
    }
    if (isDatabaseUnavailable(exception) || isDatabaseTimeout(exception)) {
      this.logger.warn(
        `Database unavailable: ${exception instanceof Error ? exception.message : String(exception)}`,
      );
      return {
        body: body(503, 'A dependency is unavailable; retry shortly'),
        headers: { 'retry-after': '5' },
      };
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return { body: body(500, 'Internal server error'), headers: {} };
  }
}

function body(statusCode: number, message: string | string[]): ErrorBody {
  const error = (HttpStatus[statusCode] ?? 'Error')
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
  return { statusCode, error, message };
}

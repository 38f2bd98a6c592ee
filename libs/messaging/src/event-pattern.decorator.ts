import { EventPattern as NestEventPattern } from '@nestjs/microservices';
import type { Contract } from '#contracts';
import type { HandlerOptions } from './transport-options.js';

/**
 * Nest's `@EventPattern`, keyed by a contract instead of a bare string, with this transport's options:
 * `@EventPattern(PaymentCommands.charge, { retry: { maxAttempts: 3 } })`. A string is accepted for
 * wildcard subscriptions (`job.#`), which then need `options.queue`.
 */
export function EventPattern(message: Contract | string, options: HandlerOptions = {}): MethodDecorator {
  const pattern = typeof message === 'string' ? message : message.name;
  // Nest's overloads would infer a typed-topic decorator from a plain string; pin the untyped one.
  const decorate: (metadata: string, extras: Record<string, unknown>) => MethodDecorator = NestEventPattern;
  return decorate(pattern, { ...options });
}

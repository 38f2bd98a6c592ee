import { createRequire } from 'node:module';
import type { LoggerService } from '@nestjs/common';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type PinoPretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/**
 * One logger per process: JSON lines in production (one object per line, `service` on every line),
 * human-readable in development. Nothing logs request bodies or headers, so API keys and payment details
 * never reach the logs.
 */
export function createLogger(service: string, level: LevelWithSilent, format: LogFormat): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'json') return pino(options);
  // Loaded only here: production processes log JSON and need not carry the pretty-printer (~1 MiB of heap).
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pino(
    options,
    pretty({
      sync: true,
      colorize: process.stdout.isTTY,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      messageFormat: '[{context}] {msg}',
      ignore: 'pid,hostname,service,context',
    }),
  );
}

let active: Logger | undefined;

/** Whether a line at `level` would be written: hot paths check before building the line at all. */
export function isLogEnabled(level: 'info' | 'debug'): boolean {
  return active?.isLevelEnabled(level) ?? true;
}

/** Nest's logger interface over pino: Nest's own messages (and `new Logger(ctx)`) come out as log lines too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {
    active = logger;
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /** Nest passes the context as the last string argument, and for errors a stack before it. */
  private write(
    level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal',
    message: unknown,
    rest: unknown[],
  ): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = level === 'error' && rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}

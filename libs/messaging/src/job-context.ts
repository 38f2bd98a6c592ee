import type { Notify } from '#contracts';
import type { Headers, IncomingEnvelope } from './envelope.js';

/** What a handler knows about the delivery it is working on; the second argument (`@Ctx()`). */
export class JobContext {
  constructor(
    private readonly envelope: IncomingEnvelope,
    /**
     * How to get the signal: an AbortController makes its signal on first access, which costs more than
     * the rest of a light job's bookkeeping, and most handlers never look.
     */
    private readonly signalOf: () => AbortSignal,
    private readonly onProgress: (percent: number) => void,
    readonly maxAttempts: number,
  ) {}

  /** Aborted when the job must stop: shutdown past its grace, or a cancel request. */
  get signal(): AbortSignal {
    return this.signalOf();
  }

  /** The job this message works on; commands always carry one (the transport rejects those that do not). */
  get jobId(): string {
    return this.envelope.jobId ?? '';
  }

  get tenant(): string | undefined {
    return this.envelope.tenant;
  }

  /** 1-based; a redelivery after a crash keeps the attempt it crashed in. */
  get attempt(): number {
    return this.envelope.attempt;
  }

  /** The message type (routing key), e.g. `job.started`: what a wildcard subscription received. */
  get type(): string {
    return this.envelope.type;
  }

  /**
   * Which run of its job this delivery belongs to: how many times the job had been replayed from its dead
   * letter (0 for the original submission). Events a handler publishes about the job carry it on
   * (`replayCount` in their meta), so their consumers can tell a replay's outcome from the first run's.
   */
  get replayCount(): number {
    return this.envelope.replayCount;
  }

  /** When the job's command was first published (ms since the epoch; retry and lease copies keep it). */
  get publishedAt(): number | undefined {
    return this.envelope.publishedAt;
  }

  get messageId(): string | undefined {
    return this.envelope.messageId;
  }

  get traceparent(): string | undefined {
    return this.envelope.traceparent;
  }

  /** Who the submitter wants told when the job ends (API.md `notify`), if anyone. */
  get notify(): Notify | undefined {
    return this.envelope.notify;
  }

  get redelivered(): boolean {
    return this.envelope.redelivered;
  }

  get headers(): Readonly<Headers> {
    return this.envelope.headers;
  }

  /** 0..100; published as `job.progress`, throttled, so call it as often as is convenient. */
  reportProgress(percent: number): void {
    this.onProgress(Math.max(0, Math.min(100, Math.floor(percent))));
  }
}

/** Emits at most once per `intervalMs` and only on change; the last value wins. */
export function throttleProgress(
  emit: (percent: number) => void,
  intervalMs: number,
): (percent: number) => void {
  let lastSent = -1;
  let lastAt = Number.NEGATIVE_INFINITY;
  return (percent) => {
    const now = Date.now();
    if (percent === lastSent || now - lastAt < intervalMs) return;
    lastSent = percent;
    lastAt = now;
    emit(percent);
  };
}

/** What the other side answered, as the delivery log keeps it: a status and a short excerpt, no more. */
export interface DeliveryResponse {
  /** HTTP status, or the SMTP reply code. */
  readonly status?: number;
  /** At most {@link EXCERPT_LENGTH} characters, control characters removed. */
  readonly excerpt?: string;
}

/** A failure that carries what the receiver answered (recorded with the delivery). */
export interface AnsweredFailure {
  readonly response: DeliveryResponse;
}

export const EXCERPT_LENGTH = 200;

/** A receiver's words, safe to keep and to show: one line, printable, at most 200 characters. */
export function excerpt(text: string): string {
  const line = text
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (line.length <= EXCERPT_LENGTH) return line;
  // Not cutting an emoji (a surrogate pair) in half: its first half alone is text Postgres refuses.
  return `${line.slice(0, EXCERPT_LENGTH - 3).replace(/[\uD800-\uDBFF]$/, '')}...`;
}

export function responseOf(error: unknown): DeliveryResponse | undefined {
  if (typeof error !== 'object' || error === null || !('response' in error)) return undefined;
  const { response } = error;
  return typeof response === 'object' && response !== null ? response : undefined;
}

import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The caller's W3C `traceparent` if it is well-formed (and not the all-zero ids), else a new one. */
export function traceparentFrom(header: unknown): string {
  if (typeof header === 'string') {
    const match = TRACEPARENT.exec(header.trim());
    if (match && !/^0+$/.test(match[1] ?? '0') && !/^0+$/.test(match[2] ?? '0')) return header.trim();
  }
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** The trace id part of a `traceparent`, for log lines. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}

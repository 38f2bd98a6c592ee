import { z } from 'zod';
import { isStorableTime } from '#contracts';
import { InvalidCursorError } from './job-errors.js';

/** Keyset position in the newest-first listing: (created_at, id) of the last item returned. */
export interface JobCursor {
  readonly createdAt: string;
  readonly id: string;
}

export function encodeCursor(cursor: JobCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): JobCursor {
  const [createdAt, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  // The time exactly as encodeCursor wrote it: Date.parse takes things Postgres refuses (2024-02-30, "1").
  const time = createdAt ? new Date(createdAt) : undefined;
  const exact = time !== undefined && isStorableTime(time) && time.toISOString() === createdAt;
  if (rest.length > 0 || !createdAt || !id || !uuid.test(id) || !exact) {
    throw new InvalidCursorError();
  }
  return { createdAt, id };
}

/** The paging fields every listing accepts (`limit` 1..100, default 20; an opaque `cursor`). */
export const PAGE_QUERY = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};

/**
 * A page from `limit + 1` rows fetched newest first: the first `limit`, and a cursor after the last of them
 * when the extra row shows there is more.
 */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  positionOf: (item: T) => JobCursor,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}

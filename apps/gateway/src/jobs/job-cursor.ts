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
  if (rest.length > 0 || !createdAt || !id || !uuid.test(id) || Number.isNaN(Date.parse(createdAt))) {
    throw new InvalidCursorError();
  }
  return { createdAt, id };
}

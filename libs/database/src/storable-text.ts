/**
 * What Postgres cannot store, and how to make worker-supplied text storable. Postgres refuses NUL characters
 * in `text`, and in `jsonb` the escapes of NUL and of unpaired UTF-16 surrogates. One such string in a
 * statement fails the whole statement: with group commit, every item written with it.
 */

/** A high surrogate without its low one after it, or a low one without its high one before it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * In JSON text: an escape (itself not escaped) of NUL or of any surrogate. `JSON.stringify` escapes NUL and
 * unpaired surrogates only, so on its output this finds exactly what `jsonb` refuses. On other JSON (a
 * sender's) it also finds escaped pairs, which `jsonb` takes: a false alarm costs the careful path, never a
 * refused statement. (Telling pairs apart here once missed a literal `\ud800` text before a lone low half.)
 */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Whether Postgres can store `text`: no NUL character, no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\0') && !LONE_SURROGATE.test(text);
}

/** `text` with each NUL character and unpaired surrogate replaced by U+FFFD: storable, and visibly mended. */
export function storableText(text: string): string {
  return isStorableText(text) ? text : text.replaceAll('\0', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}

/** Whether JSON text (as received, or as `JSON.stringify` wrote it) has an escape `jsonb` refuses. */
export function hasUnstorableEscape(json: string): boolean {
  return UNSTORABLE_ESCAPE.test(json);
}

/**
 * `JSON.stringify(value)` for a `jsonb` parameter, with every string and key that `jsonb` would refuse
 * mended by {@link storableText}. For text that needs no mending (nearly all), the cost is one regex test.
 */
export function storableJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return 'null';
  return hasUnstorableEscape(text) ? JSON.stringify(value, mend) : text;
}

function mend(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.every(isStorableText)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [storableText(key), child]));
}

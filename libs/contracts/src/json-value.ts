import { z } from 'zod';

/** A JSON value, as z.json() types it. */
export type JsonValue = z.output<ReturnType<typeof z.json>>;

/**
 * Any JSON value, checked in one walk. zod's own `z.json()` tries each value against a union of six
 * schemas and builds an issue for every one that fails. Measured (zod 4, 200,000 parses in a loop): an echo
 * result `{ message, sha256 }` takes 4.7 µs with `z.json()` and 0.25 µs with this, and validating a job's
 * two batched lifecycle events at the gateway 8.1 → 4.4 µs. For event fields: commands keep `z.json()`,
 * which their OpenAPI documents can render (a custom check has no JSON Schema).
 */
export const jsonValue = z.custom<JsonValue>((value) => isJsonValue(value), {
  message: 'must be a JSON value',
});

/** Walks arrays and plain objects without recursion, so no depth a parser accepts can overflow the stack. */
export function isJsonValue(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    switch (typeof next) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(next)) return false;
        continue;
      case 'object': {
        if (next === null) continue;
        if (Array.isArray(next)) {
          for (const item of next as unknown[]) pending.push(item);
          continue;
        }
        const prototype: unknown = Object.getPrototypeOf(next);
        if (prototype !== Object.prototype && prototype !== null) return false;
        for (const key in next) pending.push((next as Record<string, unknown>)[key]);
        continue;
      }
      case 'undefined':
      case 'bigint':
      case 'symbol':
      case 'function':
        return false;
    }
  }
  return true;
}

import { createHash } from 'node:crypto';

export const SCOPES = ['jobs:write', 'jobs:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  readonly tenant: string;
  /** sha256 of the key: the plain key is not kept in memory after parsing. */
  readonly keyHash: string;
  readonly scopes: ReadonlySet<Scope>;
}

export type ParsedApiKeys = { ok: true; keys: readonly ApiKey[] } | { ok: false; error: string };

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * `tenant:key:scopes,...`, split at the first two colons, scopes joined by `+`
 * (e.g. `acme:ak_live_1:jobs:write+jobs:read`). Errors never echo a key.
 */
export function parseApiKeys(source: string): ParsedApiKeys {
  const keys: ApiKey[] = [];
  const seen = new Set<string>();
  const entries = source
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  for (const [index, entry] of entries.entries()) {
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    if (first <= 0 || second <= first + 1 || second === entry.length - 1) {
      return { ok: false, error: `entry ${index + 1} is not tenant:key:scopes` };
    }
    const tenant = entry.slice(0, first);
    const key = entry.slice(first + 1, second);
    const scopes = entry.slice(second + 1).split('+');
    if (/[+]/.test(tenant) || /[+]/.test(key))
      return { ok: false, error: `entry ${index + 1} has '+' in its tenant or key` };
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0) {
      // Neither the tenant nor the scopes as written are shown: in an entry whose fields slipped (a
      // missing tenant, say) either may be the secret key, and this message goes to the logs.
      return {
        ok: false,
        error: `entry ${index + 1} has ${unknown.length} unknown scope(s); scopes are ${SCOPES.join(', ')}`,
      };
    }
    const keyHash = hashApiKey(key);
    if (seen.has(keyHash)) return { ok: false, error: `entry ${index + 1} repeats a key` };
    seen.add(keyHash);
    keys.push({ tenant, keyHash, scopes: new Set(scopes as Scope[]) });
  }
  if (keys.length === 0) return { ok: false, error: 'no keys' };
  return { ok: true, keys };
}

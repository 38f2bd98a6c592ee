import { describe, expect, it } from '@jest/globals';
import { hashApiKey, parseApiKeys } from './api-keys.js';

describe(parseApiKeys.name, () => {
  it('reads tenant:key:scopes entries, keeping only the key’s hash', () => {
    const parsed = parseApiKeys('acme:acme-key:jobs:write+jobs:read,ops:ops-key:admin');
    expect(parsed).toMatchObject({
      ok: true,
      keys: [
        { tenant: 'acme', keyHash: hashApiKey('acme-key'), scopes: new Set(['jobs:write', 'jobs:read']) },
        { tenant: 'ops', keyHash: hashApiKey('ops-key'), scopes: new Set(['admin']) },
      ],
    });
  });

  it('never shows a secret in its error when an entry’s fields slipped (the tenant left out)', () => {
    const parsed = parseApiKeys('acme:acme-key:jobs:read,ak_live_s3cret:jobs:write+jobs:read');
    expect(parsed.ok).toBe(false);
    const error = parsed.ok ? '' : parsed.error;
    // Before: "entry 2 (tenant ak_live_s3cret) has unknown scope(s) …", the key in the logs.
    expect(error).toMatch(/^entry 2 has \d+ unknown scope\(s\)/);
    expect(error).not.toContain('s3cret');
  });
});

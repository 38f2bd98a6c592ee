import { describe, expect, it } from '@jest/globals';
import { canonicalJson, requestHash } from './canonical-json.js';

describe(canonicalJson.name, () => {
  it('ignores key order at every depth but nothing else', () => {
    const a = { b: 1, a: { d: [2, { y: 1, x: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [2, { x: 2, y: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: '1' }));
    expect(canonicalJson({ z: null, a: true })).toBe('{"a":true,"z":null}');
  });
});

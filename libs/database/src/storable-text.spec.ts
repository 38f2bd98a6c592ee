import { describe, expect, it } from '@jest/globals';
import { hasUnstorableEscape, isStorableText, storableJson, storableText } from './storable-text.js';

const HIGH = '\uD83D';
const LOW = '\uDE00';

describe('storable text', () => {
  it('tells NUL characters and unpaired surrogates from text Postgres stores', () => {
    expect(isStorableText(`fine ${HIGH}${LOW} é`)).toBe(true);
    for (const bad of ['a\0b', `cut ${HIGH}`, `${LOW} first`, `${HIGH}x${LOW}`]) {
      expect(isStorableText(bad)).toBe(false);
    }
  });

  it('mends each of them into U+FFFD and leaves pairs alone', () => {
    expect(storableText(`a\0b ${HIGH} ${HIGH}${LOW} ${LOW}`)).toBe(`a\uFFFDb \uFFFD ${HIGH}${LOW} \uFFFD`);
    const fine = 'nothing to mend';
    expect(storableText(fine)).toBe(fine);
  });

  it('finds in JSON text exactly the escapes jsonb refuses', () => {
    expect(hasUnstorableEscape(JSON.stringify({ m: 'a\0' }))).toBe(true);
    expect(hasUnstorableEscape(JSON.stringify({ m: `x${HIGH}` }))).toBe(true);
    expect(hasUnstorableEscape(JSON.stringify({ [`k${LOW}`]: 1 }))).toBe(true);
    expect(hasUnstorableEscape(String.raw`"\ude00\ud83d"`)).toBe(true); // the wrong way round: both unpaired
    // Literal text `\ud800` (its backslash escaped) and then a lone low half: the low half is unpaired.
    expect(hasUnstorableEscape(JSON.stringify({ m: `\\ud800${LOW}` }))).toBe(true);
    expect(hasUnstorableEscape(JSON.stringify({ m: String.raw`a literal \u0000` }))).toBe(false);
    expect(hasUnstorableEscape(JSON.stringify({ m: `emoji ${HIGH}${LOW}`, n: 'é' }))).toBe(false);
  });

  it('writes JSON jsonb takes: the same text when nothing needs mending, else mended strings and keys', () => {
    const fine = { a: [1, 'two', { three: null }], b: `${HIGH}${LOW}` };
    expect(storableJson(fine)).toBe(JSON.stringify(fine));
    const excerpt = `Webhook receiver answered 500: ${'x'.repeat(10)}${HIGH}`; // a pair cut in two by a slice
    expect(JSON.parse(storableJson({ message: excerpt, [`k\0`]: [`v${LOW}`] }))).toEqual({
      message: excerpt.slice(0, -1) + '\uFFFD',
      'k\uFFFD': ['v\uFFFD'],
    });
    expect(storableJson(undefined)).toBe('null');
  });
});

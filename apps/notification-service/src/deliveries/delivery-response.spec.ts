import { describe, expect, it } from '@jest/globals';
import { isStorableText } from '#database';
import { EXCERPT_LENGTH, excerpt } from './delivery-response.js';

describe(excerpt.name, () => {
  it('keeps one line of a receiver’s answer, without control characters', () => {
    expect(excerpt('  Bad\r\n\tGateway\u0000 ')).toBe('Bad Gateway');
  });

  it('cuts a long answer to its length without cutting an emoji in half', () => {
    const answer = `${'x'.repeat(EXCERPT_LENGTH - 4)}😀 and more`; // the pair straddles the cut
    const cut = excerpt(answer);
    expect(cut).toBe(`${'x'.repeat(EXCERPT_LENGTH - 4)}...`);
    expect(isStorableText(cut)).toBe(true);
    expect(excerpt('y'.repeat(EXCERPT_LENGTH))).toHaveLength(EXCERPT_LENGTH);
  });
});

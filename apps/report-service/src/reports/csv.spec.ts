import { describe, expect, it } from '@jest/globals';
import { csvField, csvRecord } from './csv.js';

describe(csvField.name, () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    [' padded ', ' padded '],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['crlf\r\n', '"crlf\r\n"'],
    ["it's; fine", "it's; fine"],
  ])('writes %j as %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

describe(csvRecord.name, () => {
  it('joins fields with commas and ends the record with CRLF', () => {
    expect(csvRecord(['a', 'b,c', ''])).toBe('a,"b,c",\r\n');
  });

  it('keeps a quoted line break inside its field', () => {
    expect(csvRecord(['x\r\ny', 'z'])).toBe('"x\r\ny",z\r\n');
  });
});

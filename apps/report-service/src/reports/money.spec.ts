import { describe, expect, it } from '@jest/globals';
import { formatMinorUnits, minorDigits } from './money.js';

describe(formatMinorUnits.name, () => {
  it.each([
    ['1999', 'EUR', '19.99'],
    ['100', 'USD', '1.00'],
    ['5', 'GBP', '0.05'],
    ['50', 'EUR', '0.50'],
    ['0', 'EUR', '0.00'],
    ['-5', 'EUR', '-0.05'],
    ['-199999', 'USD', '-1999.99'],
    ['1999', 'JPY', '1999'],
    ['0', 'JPY', '0'],
    ['-150', 'JPY', '-150'],
    ['1234', 'KWD', '1.234'],
    ['7', 'KWD', '0.007'],
    ['9223372036854775807', 'EUR', '92233720368547758.07'],
  ])('formats %s %s as %s', (minor, currency, expected) => {
    expect(formatMinorUnits(minor, currency)).toBe(expected);
  });

  it('accepts bigint and number amounts', () => {
    expect(formatMinorUnits(123_456n, 'EUR')).toBe('1234.56');
    expect(formatMinorUnits(42, 'JPY')).toBe('42');
  });

  it('refuses an amount that is not a whole number of minor units', () => {
    expect(() => formatMinorUnits('19.99', 'EUR')).toThrow(SyntaxError);
    expect(() => formatMinorUnits(1.5, 'EUR')).toThrow(RangeError);
  });
});

describe(minorDigits.name, () => {
  it('knows zero-, two- and three-decimal currencies', () => {
    expect([minorDigits('JPY'), minorDigits('EUR'), minorDigits('USD'), minorDigits('BHD')]).toEqual([
      0, 2, 2, 3,
    ]);
  });
});

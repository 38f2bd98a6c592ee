// ISO 4217 currencies whose minor unit is not 1/100; every other code has two decimals.
const ZERO_DECIMALS = new Set(
  'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' '),
);
const THREE_DECIMALS = new Set('BHD IQD JOD KWD LYD OMR TND'.split(' '));

/** Digits after the decimal point in `currency`'s amounts (JPY 0, EUR 2, KWD 3). */
export function minorDigits(currency: string): number {
  if (ZERO_DECIMALS.has(currency)) return 0;
  if (THREE_DECIMALS.has(currency)) return 3;
  return 2;
}

/**
 * An amount in minor units as a plain decimal with the currency's digits: `1999` EUR → `19.99`, JPY →
 * `1999`, `-5` EUR → `-0.05`. Exact for any bigint (no floating point), no grouping separators.
 */
export function formatMinorUnits(amountMinor: bigint | string | number, currency: string): string {
  const amount = BigInt(amountMinor);
  const digits = minorDigits(currency);
  const sign = amount < 0n ? '-' : '';
  const magnitude = (amount < 0n ? -amount : amount).toString();
  if (digits === 0) return `${sign}${magnitude}`;
  const padded = magnitude.padStart(digits + 1, '0');
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

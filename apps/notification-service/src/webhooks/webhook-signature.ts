import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Conveyor-Signature';
export const DELIVERY_HEADER = 'Conveyor-Delivery';
/**
 * The signature that also covers the delivery id (`Conveyor-Delivery`), which receivers dedupe on: with
 * `Conveyor-Signature` alone, someone who saw a request could send it again within the tolerance under a
 * delivery id of their choosing, and a receiver deduping on it would act twice.
 */
export const DELIVERY_SIGNATURE_HEADER = 'Conveyor-Delivery-Signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (API.md, "Notifications"). */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmac(secret, [String(unixSeconds), body])}`;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<deliveryId>.<body>">`: {@link DELIVERY_SIGNATURE_HEADER}. */
export function signDelivery(secret: string, deliveryId: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmac(secret, [String(unixSeconds), deliveryId, body])}`;
}

/**
 * What a receiver does: recompute the HMAC over the raw body and compare in constant time, and refuse a
 * timestamp older than `toleranceSeconds` (a replayed request). Any of several `v1` values may match (a
 * sender signing under an old and a new secret while they are rotated). Exported for receivers written in
 * TypeScript and for the tests.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  return verify(secret, [body], header, nowSeconds, toleranceSeconds);
}

/** {@link verifyWebhook} for {@link DELIVERY_SIGNATURE_HEADER}: the body and the `Conveyor-Delivery` it came with. */
export function verifyDelivery(
  secret: string,
  deliveryId: string,
  body: string,
  header: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  return verify(secret, [deliveryId, body], header, nowSeconds, toleranceSeconds);
}

function verify(
  secret: string,
  signed: readonly string[],
  header: string,
  nowSeconds: number,
  toleranceSeconds: number,
): boolean {
  const fields = header.split(',').map((part) => {
    const at = part.indexOf('=');
    return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
  });
  const times = fields.filter(([name]) => name === 't');
  const t = times.length === 1 ? Number(times[0]?.[1]) : Number.NaN;
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, [String(t), ...signed]), 'hex');
  return fields.some(
    ([name, given]) =>
      name === 'v1' && /^[0-9a-f]{64}$/.test(given) && timingSafeEqual(Buffer.from(given, 'hex'), expected),
  );
}

function hmac(secret: string, parts: readonly string[]): string {
  return createHmac('sha256', secret).update(parts.join('.')).digest('hex');
}

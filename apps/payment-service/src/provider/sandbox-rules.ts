/** What the sandbox does with a charge call. */
export type SandboxDecision = 'capture' | 'decline' | 'unavailable';

/**
 * Test-card style rules on the amount's last two digits (API.md, "Payments"): `…02` is declined, `…03`
 * fails transiently on the first two calls for its key, `…04` always fails transiently, anything else
 * captures. `call` is the 1-based number of this charge call for the idempotency key.
 */
export function sandboxDecision(amount: number, call: number): SandboxDecision {
  switch (amount % 100) {
    case 2:
      return 'decline';
    case 3:
      return call <= 2 ? 'unavailable' : 'capture';
    case 4:
      return 'unavailable';
    default:
      return 'capture';
  }
}

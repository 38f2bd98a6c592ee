/** Orders and their sum in one currency, as SQL counts them. */
export interface OrderTotal {
  readonly currency: string;
  readonly orders: number;
  /** Sum of `amount_minor` as a decimal string (it may not fit a double). */
  readonly amountMinor: string;
}

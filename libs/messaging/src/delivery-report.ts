/** How a delivery ended: acked after success, retry or dead-letter, or given back to the queue. */
export type DeliveryOutcome =
  | 'succeeded'
  | 'retried'
  | 'dead-lettered'
  | 'cancelled'
  /** Handed back as a lease: another delivery of the job is running (StillRunningError). */
  | 'leased'
  /** A lease copy whose holder had finished: nothing to do. */
  | 'dropped'
  | 'requeued';

export interface DeliveryReport {
  readonly queue: string;
  readonly type: string;
  readonly jobId: string | undefined;
  readonly tenant: string | undefined;
  readonly attempt: number;
  readonly messageId: string | undefined;
  readonly traceparent: string | undefined;
  /** How long the message had waited since it was first published when it was delivered. */
  readonly waitedSeconds: number | undefined;
  readonly outcome: DeliveryOutcome;
  /** From delivery to settlement. */
  readonly seconds: number;
}

/** Told about every settled delivery (metrics); must not throw. */
export type DeliveryObserver = (report: DeliveryReport) => void;

import type { ConsumeMessage } from 'amqplib';

/** The part of an amqplib channel the acknowledger drives. */
export interface AckChannel {
  ack(message: ConsumeMessage, allUpTo?: boolean): void;
  nack(message: ConsumeMessage, allUpTo?: boolean, requeue?: boolean): void;
}

/**
 * Acks one channel's deliveries in bulk. Acks asked for during one turn of the event loop go out together
 * at its end: the longest run of acked deliveries from the oldest unsettled one is a single `basic.ack`
 * with `multiple` (for a quorum queue, one settle command in its log instead of one per message); acked
 * deliveries behind an unfinished one are acked one by one at the same moment, so a slow job never holds
 * back the acks of the fast ones after it. A requeue (nack) goes out at once.
 *
 * Delivery tags grow in delivery order on a channel, and every delivery is registered (`delivered`)
 * before its handler runs, so "everything up to tag T" never covers a delivery this side has not settled.
 */
export class Acknowledger {
  /** Delivered and not yet sent to the broker as settled, oldest first. */
  private readonly unsettled: ConsumeMessage[] = [];
  private readonly acked = new Set<ConsumeMessage>();
  private flushing?: NodeJS.Immediate;

  constructor(private readonly channel: AckChannel) {}

  delivered(message: ConsumeMessage): void {
    this.unsettled.push(message);
  }

  ack(message: ConsumeMessage): void {
    this.acked.add(message);
    this.flushing ??= setImmediate(() => {
      this.flush();
    });
  }

  requeue(message: ConsumeMessage): void {
    this.forget(message);
    this.channel.nack(message, false, true);
  }

  /**
   * Sends the acks asked for so far. On a channel that has closed meanwhile there is nothing to send: the
   * broker has put back everything that was unsettled on it.
   */
  flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    try {
      this.sendAcks();
    } catch {
      this.unsettled.length = 0;
      this.acked.clear();
    }
  }

  private sendAcks(): void {
    if (this.acked.size === 0) return;
    let last: ConsumeMessage | undefined;
    let run = 0;
    while (this.unsettled.length > 0 && this.acked.has(this.unsettled[0] as ConsumeMessage)) {
      last = this.unsettled.shift();
      this.acked.delete(last as ConsumeMessage);
      run++;
    }
    if (last) this.channel.ack(last, run > 1);
    for (const message of this.acked) {
      this.forget(message);
      this.channel.ack(message, false);
    }
    this.acked.clear();
  }

  private forget(message: ConsumeMessage): void {
    const at = this.unsettled.indexOf(message);
    if (at !== -1) this.unsettled.splice(at, 1);
  }
}

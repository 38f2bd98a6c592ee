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
 *
 * A pack (pack.ts) is registered with its commands (`deliveredPack`): each is settled on its own, and the
 * pack's message is acked once all of them are — or requeued, whole, once all of them are settled if any
 * asked for a requeue (its commands that did finish run again; consumers are idempotent per job).
 */
export class Acknowledger {
  /** Delivered and not yet sent to the broker as settled, oldest first. */
  private readonly unsettled: ConsumeMessage[] = [];
  private readonly acked = new Set<ConsumeMessage>();
  /** A pack's commands to the pack they came in. */
  private readonly packOf = new WeakMap<ConsumeMessage, PackSettlement>();
  private flushing?: NodeJS.Immediate;

  constructor(private readonly channel: AckChannel) {}

  delivered(message: ConsumeMessage): void {
    this.unsettled.push(message);
  }

  /** A pack's message and the deliveries its commands became: those are what gets settled. */
  deliveredPack(message: ConsumeMessage, parts: readonly ConsumeMessage[]): void {
    this.unsettled.push(message);
    const pack = { message, left: new Set(parts), requeue: false };
    for (const part of parts) this.packOf.set(part, pack);
  }

  ack(message: ConsumeMessage): void {
    if (this.settlePart(message, false)) return;
    this.acked.add(message);
    this.flushing ??= setImmediate(() => {
      this.flush();
    });
  }

  requeue(message: ConsumeMessage): void {
    if (this.settlePart(message, true)) return;
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

  /**
   * Settles one command of a pack (false: `part` is no such command); the last one settles the pack. A
   * command settled again changes nothing (its delivery tag is the pack's: acking it would ack the pack).
   */
  private settlePart(part: ConsumeMessage, requeue: boolean): boolean {
    const pack = this.packOf.get(part);
    if (!pack) return false;
    if (!pack.left.delete(part)) return true;
    pack.requeue ||= requeue;
    if (pack.left.size === 0) {
      if (pack.requeue) this.requeue(pack.message);
      else this.ack(pack.message);
    }
    return true;
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

interface PackSettlement {
  readonly message: ConsumeMessage;
  /** Its commands not settled yet. */
  readonly left: Set<ConsumeMessage>;
  /** One of its commands asked for a requeue: the whole pack goes back once all are settled. */
  requeue: boolean;
}

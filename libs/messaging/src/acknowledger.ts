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
 * pack's message is acked once all of them are. When some of them asked for a requeue, only those go back:
 * they are published again on their own (`requeueParts`), then the pack is acked. Requeueing the whole pack
 * would run its other commands again, and a command already retried or dead-lettered would then start a
 * second chain of attempts beside its copy. Only when that publish fails (or every command asked) does
 * the whole pack go back.
 */
export class Acknowledger {
  /** Delivered and not yet sent to the broker as settled, oldest first. */
  private readonly unsettled: ConsumeMessage[] = [];
  private readonly acked = new Set<ConsumeMessage>();
  /** A pack's commands to the pack they came in. */
  private readonly packOf = new WeakMap<ConsumeMessage, PackSettlement>();
  private flushing?: NodeJS.Immediate;
  /** Packs being settled after their requeued commands were published back on their own. */
  private readonly settling = new Set<Promise<void>>();
  /** Set by a drain about to close the channel: see {@link closeSoon}. */
  private closing = false;

  constructor(
    private readonly channel: AckChannel,
    /** Publishes a pack's commands that asked for a requeue as messages of their own (confirmed). */
    private readonly requeueParts?: (parts: readonly ConsumeMessage[]) => Promise<void>,
  ) {}

  delivered(message: ConsumeMessage): void {
    this.unsettled.push(message);
  }

  /** A pack's message and the deliveries its commands became: those are what gets settled. */
  deliveredPack(message: ConsumeMessage, parts: readonly ConsumeMessage[]): void {
    this.unsettled.push(message);
    const pack: PackSettlement = { message, left: new Set(parts), requeued: [], size: parts.length };
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
    if (requeue) pack.requeued.push(part);
    if (pack.left.size === 0) this.settlePack(pack);
    return true;
  }

  private settlePack(pack: PackSettlement): void {
    if (pack.requeued.length === 0) {
      this.ack(pack.message);
      return;
    }
    // Its channel is about to close, and the broker puts the whole pack back then: a copy of a command
    // published now would run beside it.
    if (this.closing) return;
    if (pack.requeued.length === pack.size || !this.requeueParts) {
      this.requeueQuietly(pack.message);
      return;
    }
    const settling = this.requeueParts(pack.requeued).then(
      () => {
        this.ack(pack.message);
      },
      () => {
        // Not published: the whole pack goes back (its finished commands run again, idempotent per job).
        this.requeueQuietly(pack.message);
      },
    );
    this.settling.add(settling);
    void settling.finally(() => this.settling.delete(settling));
  }

  /**
   * The channel closes next (a drain): a pack whose commands asked for a requeue from now on is left to the
   * broker, which puts it back whole when the channel closes, rather than published back in parts.
   */
  closeSoon(): void {
    this.closing = true;
  }

  /**
   * Resolves once every pack whose commands are being published back is settled (acked or requeued), so
   * that a drain closes the channel only after: closing it first would put the whole pack back beside the
   * copies of its commands.
   */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.settling]);
  }

  /** {@link requeue}, for a moment when no caller is there to be told that the channel has closed. */
  private requeueQuietly(message: ConsumeMessage): void {
    try {
      this.requeue(message);
    } catch {
      // The channel closed: the broker has put the message back already.
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

interface PackSettlement {
  readonly message: ConsumeMessage;
  /** Its commands not settled yet. */
  readonly left: Set<ConsumeMessage>;
  /** Its commands that asked for a requeue, in the order they did. */
  readonly requeued: ConsumeMessage[];
  /** How many commands it carries. */
  readonly size: number;
}

import type { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { Acknowledger } from './acknowledger.js';
import type { AnyChannel } from './amqp-connection.js';
import { errorMessageOf } from './errors.js';
import type { RetryPolicy } from './retry-policy.js';
import type { Topology } from './topology.js';

/** One handler's queue, its options, and the channel its deliveries arrive on. */
export interface Consumer {
  readonly pattern: string;
  readonly queue: string;
  readonly topology: Topology;
  readonly handler: MessageHandler;
  readonly policy: RetryPolicy;
  readonly prefetch: number;
  readonly lifecycle: boolean;
  wrapper?: ChannelWrapper;
  /** The raw channel deliveries currently arrive on; undefined while it is closed. */
  live?: AnyChannel;
  /** Settles deliveries on `live` (acks go out in bulk at the end of each event-loop turn). */
  acks?: Acknowledger;
  tag?: string;
}

/** Acks or requeues a delivery on the channel it came from; does nothing if that channel has closed. */
export function settleDelivery(
  consumer: Consumer,
  channel: AnyChannel,
  message: ConsumeMessage,
  settlement: 'ack' | 'requeue',
  log: Logger,
): void {
  // A delivery tag is only valid on the channel it came from; if that channel closed, the broker has
  // already requeued the message, and acking on a new channel would close that one too.
  const acks = consumer.acks;
  if (consumer.live !== channel || !acks) return;
  try {
    if (settlement === 'ack') acks.ack(message);
    else acks.requeue(message);
  } catch (error) {
    log.warn(`Could not ${settlement} a message on ${consumer.queue}: ${errorMessageOf(error)}`);
  }
}

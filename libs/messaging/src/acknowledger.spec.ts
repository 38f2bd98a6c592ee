import { describe, expect, it } from '@jest/globals';
import type { ConsumeMessage } from 'amqplib';
import { Acknowledger, type AckChannel } from './acknowledger.js';

function delivery(tag: number): ConsumeMessage {
  return { fields: { deliveryTag: tag } } as ConsumeMessage;
}

/** What the channel was told, as `ack 3+` (multiple up to 3), `ack 3`, `nack 3`. */
function recordingChannel(): AckChannel & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    ack: (m, allUpTo) => sent.push(`ack ${m.fields.deliveryTag}${allUpTo ? '+' : ''}`),
    nack: (m) => sent.push(`nack ${m.fields.deliveryTag}`),
  };
}

describe('Acknowledger', () => {
  it('acks a run of finished deliveries from the oldest as one multiple ack', () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel);
    const messages = [1, 2, 3, 4].map(delivery);
    for (const m of messages) acks.delivered(m);
    for (const m of messages.slice(0, 3)) acks.ack(m);
    acks.flush();
    expect(channel.sent).toEqual(['ack 3+']);
    acks.ack(messages[3]!);
    acks.flush();
    expect(channel.sent).toEqual(['ack 3+', 'ack 4']);
  });

  it('acks deliveries behind an unfinished one singly, never with a multiple that would cover it', () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel);
    const [one, two, three, four] = [1, 2, 3, 4].map(delivery) as [ConsumeMessage, ...ConsumeMessage[]];
    for (const m of [one, two, three, four]) acks.delivered(m!);
    acks.ack(three!);
    acks.ack(four!);
    acks.flush();
    expect(channel.sent).toEqual(['ack 3', 'ack 4']);
    acks.ack(two!);
    acks.ack(one);
    acks.flush();
    expect(channel.sent).toEqual(['ack 3', 'ack 4', 'ack 2+']);
  });

  it('requeues at once and leaves the requeued delivery out of later multiple acks', () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel);
    const [one, two, three] = [1, 2, 3].map(delivery) as [ConsumeMessage, ConsumeMessage, ConsumeMessage];
    for (const m of [one, two, three]) acks.delivered(m);
    acks.requeue(one);
    expect(channel.sent).toEqual(['nack 1']);
    acks.ack(two);
    acks.ack(three);
    acks.flush();
    expect(channel.sent).toEqual(['nack 1', 'ack 3+']);
  });

  it('sends the acks of one event-loop turn together at its end', async () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel);
    const messages = [1, 2].map(delivery);
    for (const m of messages) acks.delivered(m);
    for (const m of messages) acks.ack(m);
    expect(channel.sent).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(channel.sent).toEqual(['ack 2+']);
  });

  it('drops what it held when the channel has closed (the broker requeued it)', () => {
    const acks = new Acknowledger({
      ack: () => {
        throw new Error('Channel closed');
      },
      nack: () => undefined,
    });
    const message = delivery(1);
    acks.delivered(message);
    acks.ack(message);
    expect(() => {
      acks.flush();
    }).not.toThrow();
  });

  it('acks a pack once every one of its commands is acked, in order with the deliveries around it', () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel);
    const [one, pack, three] = [1, 2, 3].map(delivery) as [ConsumeMessage, ConsumeMessage, ConsumeMessage];
    const parts = [0, 1, 2].map(() => delivery(2));
    acks.delivered(one);
    acks.deliveredPack(pack, parts);
    acks.delivered(three);
    acks.ack(one);
    acks.ack(parts[0]!);
    acks.ack(parts[2]!);
    acks.ack(three);
    acks.flush();
    expect(channel.sent).toEqual(['ack 1', 'ack 3']);
    acks.ack(parts[1]!);
    acks.flush();
    expect(channel.sent).toEqual(['ack 1', 'ack 3', 'ack 2']);
  });

  it('publishes back only the commands of a pack that asked for a requeue, then acks the pack', async () => {
    const channel = recordingChannel();
    const published: ConsumeMessage[][] = [];
    const acks = new Acknowledger(channel, (parts) => {
      published.push([...parts]);
      return Promise.resolve();
    });
    const pack = delivery(1);
    const parts = [0, 1, 2].map(() => delivery(1)) as [ConsumeMessage, ConsumeMessage, ConsumeMessage];
    acks.deliveredPack(pack, parts);
    acks.ack(parts[0]); // succeeded
    acks.requeue(parts[1]); // say, its outcome was not confirmed
    acks.ack(parts[2]); // retried: its retry copy is confirmed, it must not run again at this attempt
    await acks.idle();
    acks.flush();
    expect(published).toEqual([[parts[1]]]);
    expect(channel.sent).toEqual(['ack 1']);
  });

  it('requeues a pack whole when its requeued commands could not be published back, or all of them asked', async () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel, () => Promise.reject(new Error('confirm timed out')));
    const [first, second] = [1, 2].map(delivery) as [ConsumeMessage, ConsumeMessage];
    const firstParts = [0, 1].map(() => delivery(1)) as [ConsumeMessage, ConsumeMessage];
    const secondParts = [0, 1].map(() => delivery(2)) as [ConsumeMessage, ConsumeMessage];
    acks.deliveredPack(first, firstParts);
    acks.deliveredPack(second, secondParts);
    acks.ack(firstParts[0]);
    acks.requeue(firstParts[1]);
    await acks.idle();
    expect(channel.sent).toEqual(['nack 1']);
    acks.requeue(secondParts[0]);
    acks.requeue(secondParts[1]);
    expect(channel.sent).toEqual(['nack 1', 'nack 2']);
  });

  it('requeues a pack whole, once all its commands are settled, if any asked and it cannot publish parts', () => {
    const channel = recordingChannel();
    const acks = new Acknowledger(channel);
    const pack = delivery(1);
    const parts = [0, 1, 2].map(() => delivery(1));
    acks.deliveredPack(pack, parts);
    acks.requeue(parts[1]!);
    acks.ack(parts[0]!);
    acks.flush();
    expect(channel.sent).toEqual([]);
    acks.ack(parts[2]!);
    acks.flush();
    expect(channel.sent).toEqual(['nack 1']);
    // Settling a command twice does not settle its pack twice.
    acks.ack(parts[2]!);
    acks.flush();
    expect(channel.sent).toEqual(['nack 1']);
  });
});

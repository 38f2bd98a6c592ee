import { describe, expect, it } from '@jest/globals';
import type { ConsumeMessage } from 'amqplib';
import { Acknowledger, type AckChannel } from './acknowledger.js';
import type { AmqpConnection, AnyChannel } from './amqp-connection.js';
import { AmqpTransport } from './amqp.transport.js';
import type { Consumer } from './consumer.js';
import type { MessagePublisher, RawPublish } from './publisher.js';
import { TopologyNames } from './topology.js';

/** A command of a pack, as unpacked: its own message id. */
function part(messageId: string): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered: false, routingKey: 'echo.run' },
    properties: { messageId, type: 'echo.run', headers: { attempt: 1 } },
  } as unknown as ConsumeMessage;
}

/** The transport's `requeueParts` over a publisher whose confirms `confirm` decides, per message id and try. */
function requeueing(confirm: (messageId: string, attempt: number) => boolean) {
  const tries = new Map<string, number>();
  const publisher = {
    publishRaw: (message: RawPublish) => {
      const id = message.properties.messageId;
      const attempt = (tries.get(id) ?? 0) + 1;
      tries.set(id, attempt);
      return confirm(id, attempt) ? Promise.resolve() : Promise.reject(new Error('confirm timed out'));
    },
  } as unknown as MessagePublisher;
  const transport = new AmqpTransport({} as AmqpConnection, publisher, {
    names: new TopologyNames('t-unit'),
    service: 'unit',
    retryTiers: [1000],
    shutdownGraceMs: 1000,
  });
  const channel = {} as AnyChannel;
  const consumer = { queue: 't-unit.unit.echo.run', live: channel } as Consumer;
  const requeueParts = (parts: readonly ConsumeMessage[]) =>
    (
      transport as unknown as {
        requeueParts(c: Consumer, ch: AnyChannel, p: readonly ConsumeMessage[]): Promise<void>;
      }
    ).requeueParts(consumer, channel, parts);
  return { requeueParts, tries, consumer };
}

describe('requeueing some commands of a pack', () => {
  it('publishes again the ones not confirmed once another is out, rather than putting the whole pack back', async () => {
    const { requeueParts, tries } = requeueing((id, attempt) => id === 'a' || attempt > 1);
    // Before: one failed confirm rejected at once, the pack went back whole, and `a` ran twice.
    await expect(requeueParts([part('a'), part('b')])).resolves.toBeUndefined();
    expect(Object.fromEntries(tries)).toEqual({ a: 1, b: 2 });
  });

  it('rejects while none is out, so that the whole pack may go back', async () => {
    const { requeueParts, tries } = requeueing(() => false);
    await expect(requeueParts([part('a'), part('b')])).rejects.toThrow('confirm timed out');
    expect(Object.fromEntries(tries)).toEqual({ a: 1, b: 1 });
  });

  it('stops once the channel has closed: the broker put the pack back', async () => {
    const { requeueParts, tries, consumer } = requeueing((id) => {
      if (id === 'b') consumer.live = undefined;
      return id === 'a';
    });
    await expect(requeueParts([part('a'), part('b')])).resolves.toBeUndefined();
    expect(Object.fromEntries(tries)).toEqual({ a: 1, b: 1 });
  });

  it('leaves a pack to the broker once its channel is about to close (a drain past its grace)', async () => {
    const sent: string[] = [];
    const channel: AckChannel = {
      ack: () => sent.push('ack'),
      nack: () => sent.push('nack'),
    };
    let published = 0;
    const acks = new Acknowledger(channel, () => {
      published++;
      return Promise.resolve();
    });
    const pack = part('pack');
    const parts = [part('a'), part('b')];
    acks.deliveredPack(pack, parts);
    acks.ack(parts[0]!);
    acks.closeSoon();
    acks.requeue(parts[1]!);
    await acks.idle();
    acks.flush();
    expect([published, sent]).toEqual([0, []]);
  });
});

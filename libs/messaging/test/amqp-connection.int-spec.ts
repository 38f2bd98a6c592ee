import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChannelModel } from 'amqplib';
import { AmqpConnection } from '#messaging';
import { TEST_RABBITMQ_URL } from '#testing';

describe('AmqpConnection against the real broker', () => {
  let connection: AmqpConnection;

  beforeAll(async () => {
    connection = new AmqpConnection({ url: TEST_RABBITMQ_URL, connectionName: 'amqp-connection-int-spec' });
    await connection.waitForConnect();
  });

  afterAll(async () => {
    await connection?.close();
  });

  it('knows while the broker blocks it (a resource alarm), and when that lifts', () => {
    // The live amqplib connection, as the broker's connection.blocked / unblocked frames reach it.
    const live = (connection as unknown as { manager: { connection?: ChannelModel } }).manager.connection;
    if (!live) throw new Error('not connected');
    expect(connection.blocked).toBeUndefined();

    live.emit('blocked', 'low on memory');
    expect(connection.blocked).toBe('low on memory');

    live.emit('unblocked');
    expect(connection.blocked).toBeUndefined();
  });
});

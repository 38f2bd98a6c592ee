import { describe, expect, it } from '@jest/globals';
import type { ConsumeMessage } from 'amqplib';
import type { IncomingEnvelope } from './envelope.js';
import { FailureRouter } from './failure-router.js';
import type { LifecycleBatcher } from './lifecycle-batcher.js';
import type { MessagePublisher } from './publisher.js';
import { RetryPolicy } from './retry-policy.js';
import { TopologyNames } from './topology.js';

describe(FailureRouter.name, () => {
  const copies: string[] = [];
  const publisher = {
    publishRaw: (message: { exchange: string }) => {
      copies.push(message.exchange);
      return Promise.resolve();
    },
  } as unknown as MessagePublisher;
  // The events' publish fails (say, its confirm timed out) after the copy was confirmed.
  const lifecycle = {
    publish: () => Promise.reject(new Error('publish confirm timed out')),
  } as unknown as LifecycleBatcher;
  const router = new FailureRouter(publisher, lifecycle, {
    names: new TopologyNames('t-unit'),
    failedBy: 'test',
    appId: 'test',
  });
  const message = {
    content: Buffer.from('{}'),
    properties: { messageId: 'm1' },
  } as unknown as ConsumeMessage;
  const envelope = {
    messageId: 'm1',
    type: 'echo.run',
    jobId: 'j1',
    tenant: 'acme',
    attempt: 1,
    headers: {},
  } as unknown as IncomingEnvelope;

  it('counts a failure routed once its copy is confirmed, even when the lifecycle event is not', async () => {
    // Before: route threw, the original was requeued and ran again beside its retry copy.
    await expect(
      router.route('q', new RetryPolicy(3, [1000]), message, envelope, new Error('boom'), 'j1'),
    ).resolves.toBe('retried');
    await expect(
      router.deadLetter(
        'q',
        new RetryPolicy(3, [1000]),
        message,
        envelope,
        new Error('boom'),
        'permanent',
        'j1',
      ),
    ).resolves.toBeUndefined();
    expect(copies).toEqual(['t-unit.retry', 't-unit.dead']);
  });

  it('counts a dead letter routed once its copy is confirmed, even when the notify.job-ended is not', async () => {
    const dead: string[] = [];
    const notifying = new FailureRouter(
      {
        publishRaw: (raw: { exchange: string }) => {
          dead.push(raw.exchange);
          return Promise.resolve();
        },
        publish: () => Promise.reject(new Error('publish confirm timed out')),
      } as unknown as MessagePublisher,
      { publish: () => Promise.resolve() } as unknown as LifecycleBatcher,
      { names: new TopologyNames('t-unit'), failedBy: 'test', appId: 'test' },
    );
    // Before: deadLetter threw, and the original was requeued and ran again although its letter was safe.
    await expect(
      notifying.deadLetter(
        'q',
        new RetryPolicy(3, [1000]),
        message,
        { ...envelope, notify: { email: 'ops@example.com' } },
        new Error('boom'),
        'permanent',
        'j1',
      ),
    ).resolves.toBeUndefined();
    expect(dead).toEqual(['t-unit.dead']);
  });
});

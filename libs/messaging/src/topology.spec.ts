import { describe, expect, it } from '@jest/globals';
import {
  describeCommandQueues,
  describeCoreTopology,
  describeSubscriptionQueues,
  describeWorkQueue,
  TopologyNames,
} from './topology.js';

describe(TopologyNames.name, () => {
  const names = new TopologyNames('acme');

  it('names everything under the prefix as DESIGN.md lays out', () => {
    expect([names.commands, names.events, names.unrouted, names.retry, names.dead]).toEqual([
      'acme.commands',
      'acme.events',
      'acme.unrouted',
      'acme.retry',
      'acme.dead',
    ]);
    const queue = names.workQueue('report-service', 'report.generate');
    expect(queue).toBe('acme.report-service.report.generate');
    expect(names.waitQueue(queue, 120_000)).toBe('acme.report-service.report.generate.wait.2m');
    expect(names.retryKey(queue, 1000)).toBe('acme.report-service.report.generate.1s');
    expect(names.deadLetterQueue(queue)).toBe('acme.report-service.report.generate.dlq');
  });
});

describe('topology', () => {
  const names = new TopologyNames('p');
  const queue = 'p.svc.echo.run';

  it('sends unroutable commands to the alternate exchange and its queue', () => {
    const core = describeCoreTopology(names);
    expect(core.exchanges).toContainEqual({
      name: 'p.commands',
      type: 'topic',
      arguments: { 'alternate-exchange': 'p.unrouted' },
    });
    expect(core.bindings).toContainEqual({ queue: 'p.unrouted', exchange: 'p.unrouted', pattern: '' });
  });

  it('makes the work queue a quorum queue with a delivery limit that dead-letters to its own DLQ', () => {
    const t = describeWorkQueue(
      names,
      { name: queue, bindings: [{ exchange: 'commands', pattern: 'echo.run' }] },
      [1000],
    );
    expect(t.queues.find((q) => q.name === queue)?.arguments).toMatchObject({
      'x-queue-type': 'quorum',
      'x-delivery-limit': expect.any(Number),
      'x-dead-letter-exchange': 'p.dead',
      'x-dead-letter-routing-key': queue,
    });
    expect(t.bindings).toContainEqual({ queue, exchange: 'p.commands', pattern: 'echo.run' });
    expect(t.bindings).toContainEqual({ queue: `${queue}.dlq`, exchange: 'p.dead', pattern: queue });
  });

  it('gives each tier one fixed-TTL wait queue that dead-letters straight back to the failing queue', () => {
    const t = describeWorkQueue(names, { name: queue, bindings: [] }, [1000, 5000, 5000]);
    const waits = t.queues.filter((q) => q.name.includes('.wait.'));
    expect(waits.map((q) => [q.name, q.arguments['x-message-ttl']])).toEqual([
      [`${queue}.wait.1s`, 1000],
      [`${queue}.wait.5s`, 5000],
    ]);
    for (const w of waits) {
      expect(w.arguments).toMatchObject({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue });
    }
    expect(t.bindings).toContainEqual({
      queue: `${queue}.wait.5s`,
      exchange: 'p.retry',
      pattern: `${queue}.5s`,
    });
  });

  it('declares a work queue for every command, named after its consumer', () => {
    const t = describeCommandQueues(names, [1000]);
    const work = t.queues.map((q) => q.name).filter((n) => !n.includes('.wait.') && !n.endsWith('.dlq'));
    expect(work.sort()).toEqual([
      'p.notification-service.notification.send',
      'p.payment-service.payment.charge',
      'p.report-service.echo.run',
      'p.report-service.report.generate',
    ]);
  });

  it('declares every standing event subscription, so events published before their consumer ran wait for it', () => {
    const t = describeSubscriptionQueues(names, [1000]);
    const work = t.queues.map((q) => q.name).filter((n) => !n.includes('.wait.') && !n.endsWith('.dlq'));
    expect(work.sort()).toEqual([
      'p.gateway.job-events',
      'p.notification-service.notify.job-ended',
      'p.notification-service.payment.failed',
      'p.notification-service.payment.succeeded',
      'p.notification-service.report.ready',
    ]);
    expect(t.bindings).toContainEqual({
      queue: 'p.gateway.job-events',
      exchange: 'p.events',
      pattern: 'job.#',
    });
    expect(t.bindings).toContainEqual({
      queue: 'p.notification-service.report.ready',
      exchange: 'p.events',
      pattern: 'report.ready',
    });
  });
});

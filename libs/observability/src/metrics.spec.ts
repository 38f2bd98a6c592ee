import { describe, expect, it } from '@jest/globals';
import { Metrics } from './metrics.js';

describe(Metrics.name, () => {
  it('reports queue depth, consumers and the age of the oldest waiting message per queue', async () => {
    const sut = new Metrics('test');
    sut.queueDepth(async () => [
      { queue: 'backed-up', ready: 3, consumers: 1 },
      { queue: 'drained', ready: 0, consumers: 2 },
      { queue: 'unconsumed.dlq', ready: 5, consumers: 0 },
    ]);
    sut.recordDelivery('backed-up', 42.5);
    sut.recordDelivery('drained', 7);
    const text = await sut.registry.metrics();
    const value = (name: string, queue: string) =>
      new RegExp(`^${name}\\{queue="${queue}",service="test"\\} (\\S+)$`, 'm').exec(text)?.[1];
    expect(value('conveyor_queue_messages_ready', 'backed-up')).toBe('3');
    expect(value('conveyor_queue_consumers', 'drained')).toBe('2');
    expect(value('conveyor_queue_oldest_message_age_seconds', 'backed-up')).toBe('42.5');
    // Empty means nothing is waiting, whatever was delivered last; a queue nobody consumes has no sample.
    expect(value('conveyor_queue_oldest_message_age_seconds', 'drained')).toBe('0');
    expect(value('conveyor_queue_oldest_message_age_seconds', 'unconsumed.dlq')).toBeUndefined();
  });

  it('still answers a scrape when a gauge cannot be read (Postgres down): that gauge is NaN or has no series', async () => {
    const sut = new Metrics('test');
    const down = () => Promise.reject(new Error('Connection terminated'));
    sut.gauge('conveyor_test_backlog', 'a gauge read from Postgres', down);
    sut.labelledGauge('conveyor_test_by_kind', 'a labelled one', 'kind', down);
    sut.gauge('conveyor_test_fine', 'a gauge that reads', () => 7);
    const text = await sut.registry.metrics();
    // prom-client writes "Nan"; Prometheus parses any case of NaN.
    expect(text).toMatch(/^conveyor_test_backlog\{service="test"\} nan$/im);
    expect(text).not.toMatch(/^conveyor_test_by_kind\{/m);
    expect(text).toMatch(/^conveyor_test_fine\{service="test"\} 7$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total/m);
  });
});

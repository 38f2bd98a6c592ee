import { randomUUID } from 'node:crypto';
import { describe, expect, it, jest } from '@jest/globals';
import type { DataSource } from 'typeorm';
import type { MessagePublisher } from '#messaging';
import { MARK_AFTER_MS, OutboxPublisher } from './outbox.publisher.js';

function setUp(failures: number) {
  const marked: string[][] = [];
  let calls = 0;
  const db = {
    query: (_sql: string, parameters: [string[]]) => {
      calls++;
      if (calls <= failures) return Promise.reject(new Error('Connection terminated'));
      marked.push(parameters[0]);
      return Promise.resolve([]);
    },
  } as unknown as DataSource;
  const publisher = { publishValidated: () => Promise.resolve() } as unknown as MessagePublisher;
  const outbox = new OutboxPublisher(publisher, db);
  const command = (jobId: string) => ({
    id: jobId,
    jobId,
    messageType: 'echo.run',
    payload: { message: 'x', failTimes: 0, failPermanently: false, cpuMs: 0 },
    meta: { tenant: 'acme', maxAttempts: 5 },
  });
  return { outbox, marked, command };
}

describe(OutboxPublisher.name, () => {
  it('marks confirmed jobs together, and keeps them for the next try while Postgres does not answer', async () => {
    const { outbox, marked, command } = setUp(1);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await outbox.dispatch(command(a));
    await outbox.dispatch(command(b));
    await outbox.markDispatched(); // fails: both kept
    expect(marked).toEqual([]);
    await outbox.dispatch(command(c));
    await outbox.markDispatched();
    expect(marked).toEqual([[a, b, c]]);
    await outbox.markDispatched(); // nothing left
    expect(marked).toHaveLength(1);
  });

  it('marks a job once a whole period has passed since its confirm, and then stops its timer', async () => {
    jest.useFakeTimers();
    try {
      const { outbox, marked, command } = setUp(0);
      const [a, b] = [randomUUID(), randomUUID()];
      await outbox.dispatch(command(a));
      await jest.advanceTimersByTimeAsync(MARK_AFTER_MS); // a was confirmed less than a period ago
      expect(marked).toEqual([]);
      await outbox.dispatch(command(b));
      await jest.advanceTimersByTimeAsync(MARK_AFTER_MS);
      expect(marked).toEqual([[a]]);
      await jest.advanceTimersByTimeAsync(MARK_AFTER_MS);
      expect(marked).toEqual([[a], [b]]);
      await jest.advanceTimersByTimeAsync(MARK_AFTER_MS * 4);
      expect(marked).toHaveLength(2);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops keeping them once the application shuts down', async () => {
    const { outbox, marked, command } = setUp(Infinity);
    await outbox.dispatch(command(randomUUID()));
    await outbox.beforeApplicationShutdown(); // the last try fails: nothing is kept or retried
    await outbox.dispatch(command(randomUUID())); // a confirm arriving after shutdown is not kept either
    await outbox.markDispatched();
    expect(marked).toEqual([]);
  });
});

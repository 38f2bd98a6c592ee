import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { JobEventBatch } from './events.js';

/** One batch entry of a `job.started`, with `body` fields overridden. */
const batchOf = (body: Record<string, unknown>) => ({
  events: [
    {
      type: 'job.started',
      id: randomUUID(),
      run: 1,
      body: { jobId: randomUUID(), attempt: 1, at: '2026-11-22T06:00:00.000Z', ...body },
    },
  ],
});

describe('lifecycle events', () => {
  it('accept what a worker sends', () => {
    expect(JobEventBatch.safeParse(batchOf({})).success).toBe(true);
  });

  // Postgres would refuse these, failing the statement that applies every event batched with them: refused
  // here, the message is a poison message instead, dead-lettered alone.
  it.each([
    ['a time in the year 0', { at: '0000-06-01T00:00:00.000Z' }],
    ['an attempt beyond a Postgres integer', { attempt: 2 ** 31 }],
  ])('refuse %s', (_, body) => {
    expect(JobEventBatch.safeParse(batchOf(body)).success).toBe(false);
  });

  it('take run 0 as absent, the only way it is sent (a gateway from before `run` refuses the field)', () => {
    for (const run of [0, 2 ** 31]) {
      const batch = batchOf({});
      expect(JobEventBatch.safeParse({ events: [{ ...batch.events[0], run }] }).success).toBe(false);
    }
    const first: Record<string, unknown> = { ...batchOf({}).events[0] };
    delete first.run;
    expect(JobEventBatch.safeParse({ events: [first] }).success).toBe(true);
  });
});

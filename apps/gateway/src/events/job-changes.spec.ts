import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { waitFor } from '#testing';
import type { GatewayConfig } from '../gateway.config.js';
import type { JobEntity } from '../jobs/job.entity.js';
import { JOB_CHANGES_CHANNEL, JobChanges } from './job-changes.js';

describe(JobChanges.name, () => {
  it('reads a changed job again when its read fails, so its watchers still get the change', async () => {
    const job = { id: 'a1b2c3d4-0000-4000-8000-000000000001', status: 'succeeded' } as JobEntity;
    let reads = 0;
    // The read after the notification fails (say, the pool's acquire timed out); the next one succeeds.
    const db = {
      getRepository: () => ({
        findBy: () =>
          ++reads === 1
            ? Promise.reject(new Error('timeout exceeded when trying to connect'))
            : Promise.resolve([job]),
      }),
    } as unknown as DataSource;
    const changes = new JobChanges(db, { JOB_CHANGES_HEARTBEAT: 5000 } as GatewayConfig);
    const seen: JobEntity[] = [];
    const unwatch = changes.watch(job.id, (row) => seen.push(row));
    // The LISTEN connection, as the service wires it (no real one is needed to deliver a notification).
    const client = new EventEmitter();
    void (changes as unknown as { endOf(client: EventEmitter): Promise<void> }).endOf(client);

    client.emit('notification', { channel: JOB_CHANGES_CHANNEL, payload: job.id });

    // Before: the failed read was logged and the change lost; a job's end never reached its stream.
    await waitFor(() => seen.length === 1, { timeoutMs: 3000, description: 'the job read again' });
    expect(seen).toEqual([job]);
    expect(reads).toBe(2);
    unwatch();
    await changes.beforeApplicationShutdown();
  });
});

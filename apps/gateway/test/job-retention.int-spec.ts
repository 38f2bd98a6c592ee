import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { JobRetention } from '../src/jobs/job-retention.js';
import { useTestGateway } from './gateway-harness.js';

describe('job retention: finished jobs are deleted JOB_RETENTION (30 days) after they finished', () => {
  const fixture = useTestGateway('retention');

  /** A job submitted through the API (nothing consumes this prefix's queues), then aged by hand. */
  const job = async (status: string, daysAgo: number, finished = true): Promise<string> => {
    const { status: code, body } = await fixture.gateway.request('/v1/echo', {
      key: 'acme-key',
      body: { message: status },
    });
    expect(code).toBe(202);
    const id = (body as { id: string }).id;
    await fixture.sql.query(
      `UPDATE gateway.jobs SET status = $2, created_at = now() - $3 * interval '1 day',
              finished_at = CASE WHEN $4 THEN now() - $3 * interval '1 day' + interval '1 minute' END
        WHERE id = $1`,
      [id, status, daysAgo, finished],
    );
    return id;
  };
  const deadLetter = (jobId: string, discarded: boolean) =>
    fixture.sql.query(
      `INSERT INTO gateway.dead_letters (id, message_id, job_id, queue, routing_key, headers, error, attempts,
                                         dead_at, discarded_at)
       VALUES ($1, $2, $3, 'q', 'echo.run', '{}', '{}', 3, now() - interval '40 days',
               CASE WHEN $4 THEN now() END)`,
      [randomUUID(), randomUUID(), jobId, discarded],
    );

  it('deletes old finished jobs in batches, and keeps unfinished ones, recent ones and pending dead letters', async () => {
    const expired = [
      await job('succeeded', 31),
      await job('failed', 40),
      await job('cancelled', 35),
      await job('failed', 45), // its dead letter was discarded
    ];
    await deadLetter(expired[3] ?? '', true);
    const kept = [
      await job('failed', 40), // its dead letter is pending: a replay must still find the job
      await job('queued', 60, false),
      await job('retrying', 60, false),
      await job('succeeded', 29),
    ];
    await deadLetter(kept[0] ?? '', false);

    // Batches of two: 2 + 2, then one that finds nothing.
    expect(await fixture.gateway.app.get(JobRetention).sweep(2)).toBe(4);
    const { rows } = await fixture.sql.query<{ id: string }>('SELECT id FROM gateway.jobs');
    expect(rows.map((r) => r.id).sort()).toEqual([...kept].sort());
    for (const id of expired) {
      expect((await fixture.gateway.request(`/v1/jobs/${id}`, { key: 'acme-key' })).status).toBe(404);
    }
    for (const id of kept) {
      expect((await fixture.gateway.request(`/v1/jobs/${id}`, { key: 'acme-key' })).status).toBe(200);
    }
    expect(await fixture.gateway.app.get(JobRetention).sweep(2)).toBe(0);
    const metrics = await (await fetch(`${fixture.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^conveyor_jobs_expired_total(\{[^}]*\})? 4$/m);
  });
});

import { describe, expect, it } from '@jest/globals';
import { waitFor } from '#testing';
import { useTestGateway } from './gateway-harness.js';

describe('gateway: a stored schedule that no longer plans', () => {
  const fixture = useTestGateway('unplannable');

  it('waits an hour instead of failing its batch, and the schedules behind it keep running', async () => {
    const { status, body } = await fixture.gateway.request('/v1/schedules', {
      key: 'acme-key',
      body: { cron: '* * * * * *', job: { kind: 'echo', body: { message: 'every second' } } },
    });
    expect(status).toBe(201);
    const fine = (body as { id: string }).id;
    // A copy whose cron stopped parsing (as after an upgrade of the parser), due before the good one.
    const { rows } = await fixture.sql.query<{ id: string }>(
      `INSERT INTO gateway.schedules (id, tenant, cron, timezone, kind, body, next_run_at, created_at)
       SELECT gen_random_uuid(), tenant, 'not a cron', timezone, kind, body, now() - interval '1 minute', now()
         FROM gateway.schedules WHERE id = $1
       RETURNING id`,
      [fine],
    );
    const broken = rows[0]?.id;

    await waitFor(
      async () =>
        (await fixture.sql.query('SELECT 1 FROM gateway.jobs WHERE schedule_id = $1', [fine])).rows.length >=
        2,
      { description: 'the good schedule to run twice' },
    );
    const { rows: after } = await fixture.sql.query<{ ahead: boolean }>(
      `SELECT next_run_at > now() + interval '50 minutes' AS ahead FROM gateway.schedules WHERE id = $1`,
      [broken],
    );
    expect(after[0]?.ahead).toBe(true);
    const { rows: jobs } = await fixture.sql.query('SELECT 1 FROM gateway.jobs WHERE schedule_id = $1', [
      broken,
    ]);
    expect(jobs).toHaveLength(0);
  });
});

import { describe, expect, it } from '@jest/globals';
import { waitFor } from '#testing';
import { useTestGateway } from './gateway-harness.js';

/** An outbox row that can never be sent (its contract was tightened while it waited, say). */
describe('gateway: outbox rows that can never be sent', () => {
  const fixture = useTestGateway('unsendable');

  const delayed = async (message: string): Promise<string> => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const { status, body } = await fixture.gateway.request('/v1/echo', {
      key: 'acme-key',
      body: { message, runAt },
    });
    expect(status).toBe(202);
    return (body as { id: string }).id;
  };
  const job = async (id: string) =>
    (
      await fixture.sql.query<{ status: string; error: { code: string; message: string } | null }>(
        'SELECT status, error FROM gateway.jobs WHERE id = $1',
        [id],
      )
    ).rows[0];

  it('fails their jobs with invalid_payload and leaves the outbox, while the rows behind them go out', async () => {
    const [invalid, unknown, fine] = [await delayed('a'), await delayed('b'), await delayed('c')];
    // Due now, oldest first: the two bad rows are ahead of the good one.
    await fixture.sql.query(
      `UPDATE gateway.outbox SET due_at = now() - interval '1 minute', payload = '{"message": ""}' WHERE job_id = $1`,
      [invalid],
    );
    await fixture.sql.query(
      `UPDATE gateway.outbox SET due_at = now() - interval '1 minute', message_type = 'nothing.run' WHERE job_id = $1`,
      [unknown],
    );
    await fixture.sql.query(`UPDATE gateway.outbox SET due_at = now() WHERE job_id = $1`, [fine]);

    await waitFor(async () => (await job(fine))?.status === 'queued', { description: 'the good row sent' });
    await waitFor(async () => (await job(invalid))?.status === 'failed', {
      description: 'the invalid one failed',
    });
    expect((await job(invalid))?.error).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('echo.run payload is invalid'),
    });
    await waitFor(async () => (await job(unknown))?.status === 'failed', {
      description: 'the unknown one failed',
    });
    expect((await job(unknown))?.error).toMatchObject({
      code: 'invalid_payload',
      message: 'unknown message type nothing.run',
    });
    const { rows } = await fixture.sql.query('SELECT 1 FROM gateway.outbox WHERE job_id = ANY($1::uuid[])', [
      [invalid, unknown, fine],
    ]);
    expect(rows).toHaveLength(0);
  });
});

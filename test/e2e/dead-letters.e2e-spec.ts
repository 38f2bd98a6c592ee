import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EchoCommands } from '#contracts';
import { buildEnvelope, encodePack } from '#messaging';
import { BrokerAdmin, Stack, waitFor } from '#testing';

const API_KEYS = 'acme:acme-key:jobs:write+jobs:read,ops:ops-key:admin';
const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';

interface Job {
  id: string;
  status: string;
  attempts: number;
  startedAt?: string;
  result?: { message: string };
  error?: { code: string };
}
interface DeadLetter {
  id: string;
  jobId: string;
  tenant: string;
  queue: string;
  routingKey: string;
  attempts: number;
  error: { message: string; code: string };
  deadAt: string;
  payload: Record<string, unknown>;
  replayedAt: string | null;
  replayedBy: string | null;
  replayedPayload: unknown;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The dead-letter archive and the admin API, with the real worker failing jobs for real. */
describe('dead letters: archive, replay, bulk replay, discard', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'e2e-dlq',
      env: {
        API_KEYS,
        RETRY_TIERS: '200ms',
        REPLAY_RATE: '200',
        RABBITMQ_MANAGEMENT_URL: MANAGEMENT_URL,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      services: ['gateway', 'report-service'],
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function call(path: string, init: { key?: string; body?: unknown; method?: string } = {}) {
    return fetch(`${stack.urls.gateway}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${init.key ?? 'ops-key'}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  }
  const json = async <T>(response: Response) => (await response.json()) as T;
  const job = async (id: string) => json<Job>(await call(`/v1/jobs/${id}`, { key: 'acme-key' }));
  async function failingJob(message: string): Promise<string> {
    const response = await call('/v1/echo', { key: 'acme-key', body: { message, failPermanently: true } });
    expect(response.status).toBe(202);
    return (await json<Job>(response)).id;
  }
  const lettersOf = async (jobId: string, state = 'all') =>
    (await json<Page<DeadLetter>>(await call(`/v1/admin/dead-letters?jobId=${jobId}&state=${state}`))).items;
  const archived = (jobId: string) =>
    waitFor(async () => (await lettersOf(jobId, 'pending'))[0], { description: `dead letter of ${jobId}` });
  const settled = (id: string, status: string) =>
    waitFor(async () => ((await job(id)).status === status ? job(id) : undefined), {
      description: `job ${id} ${status}`,
    });

  it('archives a permanently failed job with its error, and the job is failed', async () => {
    const id = await failingJob('doomed');
    const letter = await archived(id);
    expect(letter).toMatchObject({
      jobId: id,
      tenant: 'acme',
      queue: `${stack.prefix}.report-service.echo.run`,
      routingKey: 'echo.run',
      attempts: 1,
      error: { code: 'permanent_failure' },
      payload: { message: 'doomed', failPermanently: true },
      replayedAt: null,
    });
    expect(await settled(id, 'failed')).toMatchObject({ error: { code: 'permanent_failure' } });

    const metrics = await (await fetch(`${stack.urls.gateway}/metrics`)).text();
    const series = (name: string) =>
      new RegExp(
        `^${name}\\{[^}]*queue="${letter.queue.replaceAll('.', '\\.')}"[^}]*\\} ([0-9.e+-]+)$`,
        'm',
      ).exec(metrics)?.[1];
    expect(Number(series('conveyor_dead_letters_pending'))).toBeGreaterThanOrEqual(1);
    expect(Number(series('conveyor_dead_letter_oldest_age_seconds'))).toBeGreaterThanOrEqual(0);
  });

  it('archives each command of a pack the broker dead-lettered whole as a dead letter of its own', async () => {
    // What the broker does to a pack that ran out of deliveries (a worker crashing on it every time).
    const jobIds = [randomUUID(), randomUUID()];
    const pack = encodePack(
      EchoCommands.run,
      jobIds.map((jobId, i) =>
        buildEnvelope(
          EchoCommands.run,
          { message: `packed ${i}`, failTimes: 0, failPermanently: false, cpuMs: 0 },
          { jobId, tenant: 'acme', maxAttempts: 5 },
          'gateway',
        ),
      ),
      'gateway',
    );
    const queue = `${stack.prefix}.report-service.echo.run`;
    const admin = await BrokerAdmin.connect();
    try {
      await admin.publish('', `${queue}.dlq`, pack.content, {
        ...pack.properties,
        headers: { ...pack.properties.headers, 'x-first-death-reason': 'delivery_limit' },
      });
    } finally {
      await admin.close();
    }
    for (const [i, jobId] of jobIds.entries()) {
      expect(await archived(jobId)).toMatchObject({
        jobId,
        tenant: 'acme',
        queue,
        payload: { message: `packed ${i}` },
      });
    }
  });

  it('archives a letter whose body and error hold text Postgres refuses: the body kept as text, the error mended', async () => {
    const jobId = randomUUID();
    const queue = `${stack.prefix}.report-service.echo.run`;
    // JSON that escapes half an emoji (as JSON.stringify writes a string cut in the middle of a pair).
    const body = String.raw`{"message":"cut \ud83d","failTimes":0,"failPermanently":false,"cpuMs":0}`;
    const { properties } = buildEnvelope(
      EchoCommands.run,
      {},
      { jobId, tenant: 'acme', maxAttempts: 5 },
      'gateway',
    );
    const admin = await BrokerAdmin.connect();
    try {
      await admin.publish('', `${queue}.dlq`, Buffer.from(body), {
        ...properties,
        headers: { ...properties.headers, 'error-message': 'answered 500: \0', 'error-code': 'x' },
      });
    } finally {
      await admin.close();
    }
    const letter = await archived(jobId);
    expect(letter.payload).toBe(body);
    expect(letter.error).toEqual({ code: 'x', message: 'answered 500: \uFFFD' });
  });

  it('archives a letter whose own fields Postgres would refuse (before: nacked and back for ever)', async () => {
    const jobId = randomUUID();
    const queue = `${stack.prefix}.report-service.echo.run`;
    const admin = await BrokerAdmin.connect();
    try {
      await admin.publish('', `${queue}.dlq`, Buffer.from('{"message":"x"}'), {
        messageId: `id-${jobId}\0`,
        type: 'echo.run\0',
        // A header can be any size, unlike the properties.
        headers: {
          'job-id': jobId,
          tenant: `acme\0${'x'.repeat(5000)}`,
          attempt: 2 ** 40,
          'error-code': 'x',
        },
      });
    } finally {
      await admin.close();
    }
    const letter = await archived(jobId);
    expect(letter).toMatchObject({ routingKey: 'echo.run\uFFFD', attempts: 2_147_483_647 });
    expect(letter.tenant).toBe(`acme\uFFFD${'x'.repeat(250)}`);
  });

  it('applies a lifecycle batch the gateway died on ten times, and archives event letters without failing their jobs', async () => {
    // Jobs that wait an hour: nothing but these letters moves them.
    const later = async (message: string) =>
      (
        await json<Job>(
          await call('/v1/echo', {
            key: 'acme-key',
            body: { message, runAt: new Date(Date.now() + 3_600_000).toISOString() },
          }),
        )
      ).id;
    const [ended, named, partly, notified] = [
      await later('ended'),
      await later('named'),
      await later('partly'),
      await later('notified'),
    ];
    const at = new Date().toISOString();
    const event = (type: string, body: object) => ({ type, id: randomUUID(), tenant: 'acme', body });
    const letter = (type: string, body: unknown, jobId: string) => ({
      content: Buffer.from(JSON.stringify(body)),
      options: {
        type,
        messageId: randomUUID(),
        contentType: 'application/json',
        headers: { 'job-id': jobId, 'x-first-death-reason': 'delivery_limit' },
      },
    });
    const lifecycle = `${stack.prefix}.gateway.job-events`;
    const notices = `${stack.prefix}.notification-service.notify.job-ended`;
    const batchLetter = (jobId: string, events: object[]) => ({
      exchange: '',
      routingKey: `${lifecycle}.dlq`,
      ...letter('job.batch', { events }, jobId),
    });
    const admin = await BrokerAdmin.connect();
    try {
      await admin.publishAll([
        // A valid batch: what the consumer held when it died.
        batchLetter(ended, [
          event('job.started', { jobId: ended, attempt: 1, at }),
          event('job.succeeded', { jobId: ended, attempt: 1, result: { message: 'ended' }, at }),
        ]),
        // One invalid event (attempt 0 cannot start) made the transport refuse its whole batch: the valid
        // event beside it still applies, and the letter is archived for the invalid one.
        batchLetter(named, [
          event('job.started', { jobId: named, attempt: 0, at }),
          event('job.started', { jobId: partly, attempt: 1, at }),
        ]),
        // Another subscription's event.
        {
          exchange: '',
          routingKey: `${notices}.dlq`,
          ...letter('notify.job-ended', { jobId: notified, status: 'failed' }, notified),
        },
      ]);
    } finally {
      await admin.close();
    }
    expect(await settled(ended, 'succeeded')).toMatchObject({ attempts: 1, result: { message: 'ended' } });
    expect(await archived(named)).toMatchObject({ queue: lifecycle, routingKey: 'job.batch' });
    const notice = await archived(notified);
    expect(notice).toMatchObject({ queue: notices, routingKey: 'notify.job-ended' });
    const single = await call(`/v1/admin/dead-letters/${notice.id}/replay`, { method: 'POST' });
    expect(single.status).toBe(409);
    expect(JSON.stringify(await single.json())).toMatch(/only commands replay/);
    expect(await settled(partly, 'running')).toMatchObject({ attempts: 1 });
    expect(await lettersOf(ended)).toEqual([]);
    for (const id of [named, notified]) expect((await job(id)).status).toBe('scheduled');

    // A failed job with a letter of each kind: a bulk replay over events' letters replays nothing (and
    // the command's letter, left to a replay of its own, stays pending).
    const failed = await failingJob('failed, and noticed');
    await archived(failed);
    const admin2 = await BrokerAdmin.connect();
    try {
      const { content, options } = letter('notify.job-ended', { jobId: failed, status: 'failed' }, failed);
      await admin2.publish('', `${notices}.dlq`, content, options);
    } finally {
      await admin2.close();
    }
    await waitFor(async () => (await lettersOf(failed, 'pending')).length === 2, {
      description: 'both letters of the failed job archived',
    });
    const bulk = await call('/v1/admin/dead-letters/replay', { body: { queue: notices } });
    expect(bulk.status).toBe(202);
    expect(await json<{ replayed: number }>(bulk)).toEqual({ replayed: 0 });
    expect(await lettersOf(failed, 'pending')).toHaveLength(2);
  });

  it('leaves a letter whose payload its contract refuses to an edited replay (before: spent, its job failed again)', async () => {
    // A job waiting an hour, whose command then reached a worker with a body that is not an echo command.
    const waiting = await call('/v1/echo', {
      key: 'acme-key',
      body: { message: 'later', runAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    const { id } = await json<Job>(waiting);
    const admin = await BrokerAdmin.connect();
    try {
      const { properties } = buildEnvelope(EchoCommands.run, {}, { jobId: id, tenant: 'acme' }, 'gateway');
      await admin.publish('', `${stack.prefix}.report-service.echo.run.dlq`, Buffer.from('{"message":5}'), {
        ...properties,
        headers: {
          ...properties.headers,
          'error-code': 'invalid_payload',
          'error-message': 'message: not a string',
        },
      });
    } finally {
      await admin.close();
    }
    const letter = await archived(id);
    await settled(id, 'failed');

    const bulk = await call('/v1/admin/dead-letters/replay', {
      body: { kind: 'echo', errorCode: 'invalid_payload' },
    });
    expect(bulk.status).toBe(202);
    expect((await lettersOf(id, 'pending')).map((l) => l.id)).toEqual([letter.id]);
    const single = await call(`/v1/admin/dead-letters/${letter.id}/replay`, { method: 'POST' });
    expect(single.status).toBe(400);
    expect((await json<{ message: string[] }>(single)).message.join(' ')).toMatch(/edited payload/);
    expect((await job(id)).status).toBe('failed');

    const fixed = await call(`/v1/admin/dead-letters/${letter.id}/replay`, {
      body: { payload: { message: 'five' } },
    });
    expect(fixed.status).toBe(202);
    expect(await settled(id, 'succeeded')).toMatchObject({ result: { message: 'five' } });
  });

  it('replays with an edited payload: the same job succeeds, and the edit, actor and time are kept', async () => {
    const id = await failingJob('fix me');
    const letter = await archived(id);
    await settled(id, 'failed');

    const invalid = await call(`/v1/admin/dead-letters/${letter.id}/replay`, {
      body: { payload: { message: 'x', failPermanently: 'no' } },
    });
    expect(invalid.status).toBe(400);
    expect((await json<{ message: string[] }>(invalid)).message.join(' ')).toMatch(
      /payload\.failPermanently/,
    );
    expect((await lettersOf(id, 'pending')).map((l) => l.id)).toEqual([letter.id]);
    expect((await job(id)).status).toBe('failed');

    const edit = { message: 'fixed', failPermanently: false };
    const replayed = await call(`/v1/admin/dead-letters/${letter.id}/replay`, { body: { payload: edit } });
    expect(replayed.status).toBe(202);
    expect(await json<Job>(replayed)).toMatchObject({ id, status: 'queued', attempts: 0 });
    expect(await settled(id, 'succeeded')).toMatchObject({ attempts: 1, result: { message: 'fixed' } });

    const after = await json<DeadLetter>(await call(`/v1/admin/dead-letters/${letter.id}`));
    expect(after.replayedAt).not.toBeNull();
    expect(after.replayedBy).toMatch(/^ops\//);
    expect(after.replayedPayload).toEqual(edit);
    expect(await lettersOf(id, 'pending')).toEqual([]);
    expect((await call(`/v1/admin/dead-letters/${letter.id}/replay`, { method: 'POST' })).status).toBe(409);
  });

  it('runs the replay of a job whose earlier run was cancelled, whatever the clocks say; a cancel then stops the replay', async () => {
    const id = await failingJob('cancelled, failed anyway');
    const letter = await archived(id);
    await settled(id, 'failed');
    // The cancel a gateway sent while the job's first run was failing, from a replica whose clock ran a
    // minute ahead: it must stop that run (replays 0), not the replay made after it.
    const admin = await BrokerAdmin.connect();
    try {
      await admin.publish(
        '',
        `${stack.prefix}.control`,
        Buffer.from(
          JSON.stringify({ jobId: id, at: new Date(Date.now() + 60_000).toISOString() }), // no replays: run 0
        ),
        { type: 'control.cancel', contentType: 'application/json', messageId: randomUUID() },
      );
    } finally {
      await admin.close();
    }
    // The worker has read that cancel once it has read one published after it: a running job's, through
    // the API.
    const probe = (
      await json<Job>(await call('/v1/echo', { key: 'acme-key', body: { message: 'probe', cpuMs: 10_000 } }))
    ).id;
    await settled(probe, 'running');
    expect((await call(`/v1/jobs/${probe}/cancel`, { key: 'acme-key', method: 'POST' })).status).toBe(202);
    await settled(probe, 'cancelled');

    const edit = { message: 'again', failPermanently: false, cpuMs: 10_000 };
    expect(
      (await call(`/v1/admin/dead-letters/${letter.id}/replay`, { body: { payload: edit } })).status,
    ).toBe(202);
    // Running, not acked as cancelled on arrival (that would take it to cancelled with 0 attempts).
    expect(await settled(id, 'running')).toMatchObject({ attempts: 1 });
    // A cancel asked now carries the replay's run: the worker stops it.
    expect((await call(`/v1/jobs/${id}/cancel`, { key: 'acme-key', method: 'POST' })).status).toBe(202);
    expect(await settled(id, 'cancelled')).toMatchObject({ attempts: 1 });
  });

  it('bulk-replays 100 archived messages, each exactly once, paced, even with two requests racing', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await failingJob(`bulk ${i}`));
    await waitFor(
      async () => {
        const page = await json<Page<DeadLetter>>(
          await call(`/v1/admin/dead-letters?kind=echo&limit=100&state=pending`),
        );
        return ids.every((id) => page.items.some((l) => l.jobId === id));
      },
      { timeoutMs: 30_000, description: '100 dead letters archived' },
    );
    const filter = { kind: 'echo', errorCode: 'permanent_failure' };
    // Letters an earlier test left pending may match the filter too.
    const others = await stack.query<{ n: string }>(
      `SELECT count(*) AS n FROM gateway.dead_letters
        WHERE replayed_at IS NULL AND discarded_at IS NULL AND NOT (job_id = ANY($1::uuid[]))
          AND routing_key = 'echo.run' AND error->>'code' = 'permanent_failure'`,
      [ids],
    );
    const [first, second] = await Promise.all([
      call('/v1/admin/dead-letters/replay', { body: filter }),
      call('/v1/admin/dead-letters/replay', { body: filter }),
    ]);
    expect([first.status, second.status]).toEqual([202, 202]);
    const counts = [
      (await json<{ replayed: number }>(first)).replayed,
      (await json<{ replayed: number }>(second)).replayed,
    ];
    expect(counts[0]! + counts[1]!).toBe(100 + Number(others[0]?.n));

    // Each job ran once more (and, still failing permanently, was archived once more).
    await waitFor(
      async () => {
        const rows = await stack.query<{ n: string }>(
          `SELECT count(*) AS n FROM gateway.dead_letters WHERE job_id = ANY($1::uuid[])`,
          [ids],
        );
        return Number(rows[0]?.n) === 200;
      },
      { timeoutMs: 30_000, description: 'every replayed job dead-lettered again' },
    );
    // The lifecycle events and the archive travel separate queues: wait for both to have landed.
    const jobs = await waitFor(
      async () => {
        const rows = await stack.query<{ attempts: number; started_at: Date; status: string }>(
          `SELECT attempts, started_at, status FROM gateway.jobs WHERE id = ANY($1::uuid[])`,
          [ids],
        );
        return rows.every((j) => j.attempts === 1 && j.status === 'failed') ? rows : undefined;
      },
      { timeoutMs: 10_000, description: 'every job failed again after exactly one more attempt' },
    );
    expect(jobs).toHaveLength(100);
    const perJob = await stack.query<{ job_id: string; n: string }>(
      `SELECT job_id, count(*) AS n FROM gateway.dead_letters WHERE job_id = ANY($1::uuid[]) GROUP BY job_id`,
      [ids],
    );
    expect(perJob.every((r) => Number(r.n) === 2)).toBe(true);
    // REPLAY_RATE=200/s: 100 replays cannot all start within less than about half a second.
    const starts = jobs.map((j) => j.started_at.getTime()).sort((a, b) => a - b);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(400);
    // Nothing matching is pending any more from the first round: a bulk replay of nothing is 0, not an error.
    const none = await call('/v1/admin/dead-letters/replay', { body: { queue: 'no.such.queue' } });
    expect(await json<{ replayed: number }>(none)).toEqual({ replayed: 0 });
    expect((await call('/v1/admin/dead-letters/replay', { body: { colour: 'red' } })).status).toBe(400);
  });

  it('discards: gone from the archive, not replayable, the job stays failed', async () => {
    const id = await failingJob('let it go');
    const letter = await archived(id);
    expect((await call(`/v1/admin/dead-letters/${letter.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/v1/admin/dead-letters/${letter.id}`)).status).toBe(404);
    expect((await call(`/v1/admin/dead-letters/${letter.id}/replay`, { method: 'POST' })).status).toBe(404);
    expect((await call(`/v1/admin/dead-letters/${letter.id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await lettersOf(id)).toEqual([]);
    expect((await job(id)).status).toBe('failed');

    // A letter replayed already is not discarded: its job runs again (before: 204, and the audit gone).
    const replayedJob = await failingJob('replayed, then discarded');
    const replayed = await archived(replayedJob);
    expect((await call(`/v1/admin/dead-letters/${replayed.id}/replay`, { method: 'POST' })).status).toBe(202);
    const refused = await call(`/v1/admin/dead-letters/${replayed.id}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(await json<{ message: string }>(refused)).toMatchObject({
      message: expect.stringContaining('replayed'),
    });
    expect(
      (await json<DeadLetter>(await call(`/v1/admin/dead-letters/${replayed.id}`))).replayedAt,
    ).not.toBeNull();
  });

  it('lists every queue of the prefix with depth and consumers', async () => {
    const work = `${stack.prefix}.report-service.echo.run`;
    type Stats = { name: string; messages: number; ready: number; unacked: number; consumers: number };
    // The management API refreshes its statistics every few seconds.
    const queues = await waitFor(
      async () => {
        const listed = await json<Stats[]>(await call('/v1/admin/queues'));
        return listed.find((q) => q.name === work)?.consumers === 1 ? listed : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, description: 'the echo queue listed with its consumer' },
    );
    const names = queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining([work, `${work}.dlq`, `${work}.wait.200ms`]));
    expect(names.every((n) => n.startsWith(`${stack.prefix}.`))).toBe(true);
    for (const q of queues) expect(q.messages).toBe(q.ready + q.unacked);
  });

  it('answers 403 on every admin route to a key without the admin scope', async () => {
    const some = '00000000-0000-4000-8000-000000000000';
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/admin/dead-letters'],
      ['GET', `/v1/admin/dead-letters/${some}`],
      ['POST', `/v1/admin/dead-letters/${some}/replay`],
      ['POST', '/v1/admin/dead-letters/replay', {}],
      ['DELETE', `/v1/admin/dead-letters/${some}`],
      ['GET', '/v1/admin/queues'],
    ];
    for (const [method, path, body] of routes) {
      const response = await call(path, { method, key: 'acme-key', ...(body === undefined ? {} : { body }) });
      expect([method, path, response.status]).toEqual([method, path, 403]);
    }
  });
});

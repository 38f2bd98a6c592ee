import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChildService, freePort, readSse, Stack, TEST_RABBITMQ_URL, waitFor, type SseEvent } from '#testing';

const API_KEYS = 'acme:acme-key:jobs:write+jobs:read,globex:globex-key:jobs:write+jobs:read';

interface Job {
  id: string;
  status: string;
  progress: number;
}

/** GET /v1/jobs/:id/events, with the job submitted on one gateway replica and streamed from another. */
describe('live job events over SSE across gateway replicas', () => {
  let stack: Stack;
  let replica: ChildService;
  let replicaUrl: string;

  beforeAll(async () => {
    stack = await Stack.start({
      label: 'e2e-sse',
      env: { API_KEYS, RETRY_TIERS: '300ms,600ms' },
      services: ['gateway', 'report-service'],
    });
    const port = await freePort();
    replicaUrl = `http://127.0.0.1:${port}`;
    replica = ChildService.node([`${process.cwd()}/dist/apps/gateway/src/main.js`], {
      PORT: String(port),
      CONVEYOR_PREFIX: stack.prefix,
      RABBITMQ_URL: TEST_RABBITMQ_URL,
      DATABASE_URL: stack.databaseUrl,
      API_KEYS,
      LOG_LEVEL: 'warn',
    });
    await waitFor(
      async () => (await fetch(`${replicaUrl}/health/ready`).catch(() => undefined))?.status === 200,
      {
        timeoutMs: 30_000,
        description: 'the second gateway ready',
      },
    );
  }, 120_000);

  afterAll(async () => {
    replica?.kill('SIGTERM');
    await replica?.exited;
    await stack?.stop();
  });

  const auth = (key = 'acme-key') => ({ authorization: `Bearer ${key}` });
  async function submit(path: string, body: unknown): Promise<Job> {
    const response = await fetch(`${stack.urls.gateway}${path}`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as Job;
  }
  const stream = (id: string, headers: Record<string, string> = {}, stopAfter?: (e: SseEvent[]) => boolean) =>
    readSse(`${replicaUrl}/v1/jobs/${id}/events`, { ...auth(), ...headers }, stopAfter ? { stopAfter } : {});
  const jobOf = (event: SseEvent) => JSON.parse(event.data) as Job;
  const ids = (events: SseEvent[]) => events.map((e) => Number(e.id));

  it('streams the current state, then each status and progress change, and ends at the terminal status', async () => {
    const { id } = await submit('/v1/reports', { format: 'csv', dataset: 'orders' });
    const reading = await stream(id);
    expect(reading.endedByServer).toBe(true);
    const { events } = reading;
    expect(events[0]?.event).toBe('status');
    expect(['queued', 'running']).toContain(jobOf(events[0]!).status);
    expect(events.at(-1)?.event).toBe('status');
    expect(jobOf(events.at(-1)!)).toMatchObject({ id, status: 'succeeded', progress: 100 });
    // Ids are the job's sequence numbers: strictly increasing.
    const seqs = ids(events);
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
    const progress = events.filter((e) => e.event === 'progress').map((e) => jobOf(e).progress);
    expect(progress.length).toBeGreaterThan(0);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    // Each event names what changed: a status event carries a new status, a progress event the same one.
    for (let i = 1; i < events.length; i++) {
      const changed = jobOf(events[i]!).status !== jobOf(events[i - 1]!).status;
      expect(events[i]!.event).toBe(changed ? 'status' : 'progress');
    }
  });

  it('resumes from Last-Event-ID without losing or repeating events', async () => {
    const { id } = await submit('/v1/echo', { message: 'bumpy', failTimes: 2 });
    const first = await stream(id, {}, (events) => events.length >= 2);
    expect(first.endedByServer).toBe(false);
    const lastSeen = first.events.at(-1)!.id!;

    const rest = await stream(id, { 'last-event-id': lastSeen });
    expect(rest.endedByServer).toBe(true);
    expect(ids(rest.events).every((seq) => seq > Number(lastSeen))).toBe(true);
    const all = [...first.events, ...rest.events];
    expect(new Set(ids(all)).size).toBe(all.length);
    const statuses = all.filter((e) => e.event === 'status').map((e) => jobOf(e).status);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('retrying');

    // After the end: an empty stream that ends at once; without an id, just the final state.
    const after = await stream(id, { 'last-event-id': all.at(-1)!.id! });
    expect(after).toMatchObject({ status: 200, events: [], endedByServer: true });
    const again = await stream(id);
    expect(again.events.map((e) => [e.event, jobOf(e).status])).toEqual([['status', 'succeeded']]);
  });

  it('is 404 for another tenant’s job and 400 for a Last-Event-ID it never sent', async () => {
    const { id } = await submit('/v1/echo', { message: 'private' });
    expect((await readSse(`${replicaUrl}/v1/jobs/${id}/events`, auth('globex-key'))).status).toBe(404);
    expect((await stream(id, { 'last-event-id': 'abc' })).status).toBe(400);
    expect((await readSse(`${replicaUrl}/v1/jobs/${id}/events`, {})).status).toBe(401);
  });
});

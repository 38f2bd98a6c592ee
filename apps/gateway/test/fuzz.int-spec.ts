import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BrokerAdmin, createTestDatabase, randomPrefix, type TestDatabase } from '#testing';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

/** A valid body per submit route; the fuzzer breaks each in one way at a time. */
const VALID: Record<string, Record<string, unknown>> = {
  '/v1/echo': { message: 'hello', failTimes: 0, cpuMs: 0 },
  '/v1/reports': { format: 'csv', dataset: 'orders', filters: { status: 'paid' } },
  '/v1/payments': { amount: 1999, currency: 'EUR', customerId: 'cus_1', description: 'x' },
  '/v1/notifications': { channel: 'email', to: 'a@example.com', subject: 'Hi', text: 'hello' },
};
const SUBMIT_ROUTES = Object.keys(VALID);

type Mutation =
  | { kind: 'extra field'; key: string; value: unknown }
  | { kind: 'wrong type'; field: string; value: unknown }
  | { kind: 'missing field'; field: string }
  | { kind: 'too long'; field: string }
  | { kind: 'not an object'; body: unknown };

const REQUIRED: Record<string, string[]> = {
  '/v1/echo': ['message'],
  '/v1/reports': ['format', 'dataset'],
  '/v1/payments': ['amount', 'currency', 'customerId'],
  '/v1/notifications': ['channel', 'to', 'subject'],
};
const STRING_FIELDS: Record<string, string[]> = {
  '/v1/echo': ['message'],
  '/v1/reports': ['format', 'dataset'],
  '/v1/payments': ['currency', 'customerId', 'description'],
  '/v1/notifications': ['to', 'subject', 'text'],
};

const jsonOfOtherType = (original: unknown) =>
  fc
    .oneof(
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer()),
      fc.string(),
      fc.dictionary(fc.string(), fc.integer()),
    )
    .filter(
      (v) =>
        typeof v !== typeof original ||
        Array.isArray(v) ||
        v === null ||
        (typeof v === 'object' && typeof original !== 'object'),
    );

const mutation = (route: string): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('extra field' as const),
      key: fc
        .string({ minLength: 1, maxLength: 20 })
        .filter((k) => !(k in VALID[route]!) && k !== 'runAt' && k !== 'notify'),
      value: fc.jsonValue(),
    }),
    fc.constantFrom(...Object.keys(VALID[route]!)).chain((field) =>
      fc.record({
        kind: fc.constant('wrong type' as const),
        field: fc.constant(field),
        value: jsonOfOtherType(VALID[route]![field]),
      }),
    ),
    fc.record({ kind: fc.constant('missing field' as const), field: fc.constantFrom(...REQUIRED[route]!) }),
    fc.record({ kind: fc.constant('too long' as const), field: fc.constantFrom(...STRING_FIELDS[route]!) }),
    fc.record({
      kind: fc.constant('not an object' as const),
      body: fc.oneof(
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        fc.integer(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
      ),
    }),
  );

function apply(route: string, m: Mutation): unknown {
  const body: Record<string, unknown> = structuredClone(VALID[route]!);
  switch (m.kind) {
    case 'extra field':
      Object.defineProperty(body, m.key, {
        value: m.value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return body;
    case 'wrong type':
      body[m.field] = m.value;
      return body;
    case 'missing field':
      return Object.fromEntries(Object.entries(body).filter(([key]) => key !== m.field));
    case 'too long':
      body[m.field] = 'x'.repeat(100_001);
      return body;
    case 'not an object':
      return m.body;
  }
}

/**
 * Thousands of generated requests at every route: malformed bodies, wrong types, unknown fields, huge
 * strings, wrong content types, random ids and other tenants' ids. Never a 5xx, never a 2xx for an invalid
 * request, never another tenant's data.
 */
describe('gateway: property-based fuzzing of every route', () => {
  const prefix = randomPrefix('fuzz');
  let database: TestDatabase;
  let gateway: TestGateway;
  let theirs: string;
  let mine: string;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    database = await createTestDatabase('fuzz');
    gateway = await startTestGateway({
      prefix,
      databaseUrl: database.url,
      config: { RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' },
    });
    theirs = (
      (await gateway.request('/v1/echo', { key: 'globex-key', body: { message: 'globex secret' } })).body as {
        id: string;
      }
    ).id;
    mine = (
      (await gateway.request('/v1/echo', { key: 'acme-key', body: { message: 'mine' } })).body as {
        id: string;
      }
    ).id;
  });

  afterAll(async () => {
    await gateway?.app.close();
    const admin = await BrokerAdmin.connect();
    await admin.deleteEverything(prefix);
    await admin.close();
    await database?.drop();
    // What the fuzzer saw, for the log.
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  });

  async function send(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: 'Bearer acme-key',
        ...(body === undefined ? {} : { 'content-type': contentType }),
        'idempotency-key': `fuzz-${Math.random()}`,
      },
      ...(body === undefined
        ? {}
        : {
            body:
              typeof body === 'string' && contentType !== 'application/json' ? body : JSON.stringify(body),
          }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    return { status: response.status, text };
  }

  /** Their job's content never shows; its id only in an error that echoes what the caller sent. */
  const noLeak = (text: string, status: number) => {
    expect(text).not.toContain('globex secret');
    if (status < 400) expect(text).not.toContain(theirs);
  };

  it('refuses every broken submit body with a 4xx and accepts nothing', async () => {
    const before = await database.query<{ n: string }>('SELECT count(*) AS n FROM gateway.jobs');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SUBMIT_ROUTES).chain((route) => fc.tuple(fc.constant(route), mutation(route))),
        async ([route, m]) => {
          const { status, text } = await send('POST', route, apply(route, m));
          expect([route, m.kind, status >= 400 && status < 500]).toEqual([route, m.kind, true]);
          noLeak(text, status);
        },
      ),
      { numRuns: 1500 },
    );
    const after = await database.query<{ n: string }>('SELECT count(*) AS n FROM gateway.jobs');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('answers 415 to a valid body under any other content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SUBMIT_ROUTES),
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/xml',
          'multipart/form-data; boundary=x',
          'text/html',
          'application/octet-stream',
        ),
        async (route, contentType) => {
          const { status } = await send('POST', route, JSON.stringify(VALID[route]), contentType);
          expect([route, contentType, status]).toEqual([route, contentType, 415]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never 5xx nor another tenant’s data for random ids, queries and arbitrary JSON', async () => {
    const id = fc.oneof(fc.uuid(), fc.string({ maxLength: 60 }), fc.constant(theirs), fc.constant(mine));
    const request = fc.oneof(
      id.map((v) => ['GET', `/v1/jobs/${encodeURIComponent(v)}`] as const),
      id.map((v) => ['POST', `/v1/jobs/${encodeURIComponent(v)}/cancel`] as const),
      id.map((v) => ['GET', `/v1/reports/${encodeURIComponent(v)}/download`] as const),
      id.map((v) => ['GET', `/v1/schedules/${encodeURIComponent(v)}`] as const),
      id.map((v) => ['DELETE', `/v1/schedules/${encodeURIComponent(v)}`] as const),
      fc
        .record(
          {
            limit: fc.oneof(fc.integer({ min: -5, max: 500 }), fc.string()),
            kind: fc.string(),
            status: fc.string(),
            cursor: fc.string(),
          },
          { requiredKeys: [] },
        )
        .map(
          (q) =>
            [
              'GET',
              `/v1/jobs?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString()}`,
            ] as const,
        ),
      fc.constantFrom(
        ['GET', '/v1/admin/dead-letters'] as const,
        ['GET', '/v1/admin/queues'] as const,
        ['POST', '/v1/admin/dead-letters/replay'] as const,
      ),
    );
    await fc.assert(
      fc.asyncProperty(request, async ([method, path]) => {
        const { status, text } = await send(method, path);
        expect([method, path, status < 500]).toEqual([method, path, true]);
        if (path.includes(theirs)) expect(status).toBe(404);
        if (path.startsWith('/v1/admin')) expect(status).toBe(403);
        noLeak(text, status);
      }),
      { numRuns: 1500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SUBMIT_ROUTES), fc.jsonValue(), async (route, body) => {
        const { status, text } = await send('POST', route, body);
        expect([route, status < 500]).toEqual([route, true]);
        // Without its required fields a body is invalid, whatever else it holds.
        const hasRequired =
          typeof body === 'object' &&
          body !== null &&
          !Array.isArray(body) &&
          REQUIRED[route]!.every((field) => field in body);
        if (!hasRequired) expect([route, status >= 400]).toEqual([route, true]);
        noLeak(text, status);
      }),
      { numRuns: 500 },
    );
  });

  it('answers 400, never 5xx, for text Postgres cannot store in any string field, and for any cursor', async () => {
    const unstorable = fc
      .tuple(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('\u0000', '\ud800', '\udfff', '\udc00\ud800'),
        fc.string({ maxLength: 20 }),
      )
      .map(([before, bad, after]) => `${before}${bad}${after}`);
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...SUBMIT_ROUTES)
          .chain((route) =>
            fc.tuple(fc.constant(route), fc.constantFrom(...STRING_FIELDS[route]!), unstorable),
          ),
        async ([route, field, value]) => {
          const { status, text } = await send('POST', route, { ...VALID[route], [field]: value });
          expect([route, field, status]).toEqual([route, field, 400]);
          noLeak(text, status);
        },
      ),
      { numRuns: 200 },
    );
    const time = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        '2024-02-30T00:00:00.000Z',
        '1',
        '0000-01-01T00:00:00.000Z',
        '+275760-09-13T00:00:00.000Z',
      ),
    );
    await fc.assert(
      fc.asyncProperty(time, fc.uuid(), async (createdAt, id) => {
        const cursor = Buffer.from(`${createdAt}|${id}`, 'utf8').toString('base64url');
        const { status } = await send('GET', `/v1/jobs?cursor=${cursor}`);
        expect([createdAt, status < 500]).toEqual([createdAt, true]);
      }),
      { numRuns: 300 },
    );
  });
});

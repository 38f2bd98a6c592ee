import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BrokerAdmin, SERVICES, waitFor } from '#testing';
import { startFaultEnv, type FaultEnv } from './support/fault-env.js';
import { printTable, reckon } from './support/ledger.js';
import { Traffic } from './support/traffic.js';

// The 10,000, 20 of them 2 MiB.
const POISON = Number(process.env.FAULT_POISON ?? 10_000);
const HUGE = 20;
const GOOD_JOBS = 1500;

/** Each work queue, the message type it takes, and a body its contract accepts. */
const TARGETS = [
  { consumer: 'report-service', type: 'echo.run', valid: { message: 'hi' } },
  { consumer: 'report-service', type: 'report.generate', valid: { format: 'csv', dataset: 'orders' } },
  {
    consumer: 'payment-service',
    type: 'payment.charge',
    valid: { amount: 1999, currency: 'EUR', customerId: 'c' },
  },
  {
    consumer: 'notification-service',
    type: 'notification.send',
    valid: { channel: 'email', to: 'a@example.com', subject: 's', text: 't' },
  },
] as const;

interface Poison {
  readonly body: Buffer;
  readonly noJobId?: boolean;
  readonly type?: string;
}
type MakePoison = (valid: object) => Poison;

/** Ways a message can be bad; each returns the body and what to change in the envelope. */
const VARIANTS: Record<string, MakePoison> = {
  'malformed JSON': () => ({ body: Buffer.from('{"message": "unterminated') }),
  'wrong schema': () => ({
    body: Buffer.from(JSON.stringify({ message: 42, amount: 'lots', format: ['x'] })),
  }),
  // JSON.parse makes "__proto__" an own key: it must be refused as an unknown field, not merged.
  '__proto__ key': (valid) => ({
    body: Buffer.from(`{"__proto__": {"polluted": true, "isAdmin": true}, ${JSON.stringify(valid).slice(1)}`),
  }),
  'constructor.prototype key': (valid) => ({
    body: Buffer.from(JSON.stringify({ ...valid, constructor: { prototype: { polluted: true } } })),
  }),
  'missing job-id': (valid) => ({ body: Buffer.from(JSON.stringify(valid)), noJobId: true }),
  'unknown type': (valid) => ({ body: Buffer.from(JSON.stringify(valid)), type: 'nonsense.do' }),
  'binary garbage': () => ({ body: randomBytes(256) }),
  'empty body': () => ({ body: Buffer.alloc(0) }),
};

/** Scenario 4: poison published straight to the work queues, among good traffic. */
describe('poison messages', () => {
  let env: FaultEnv;

  beforeAll(async () => {
    env = await startFaultEnv({ label: 'fault-poison' });
  }, 180_000);

  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  it('dead-letters every poison message, crashes nothing, and good jobs complete', async () => {
    const { stack, rabbit } = env;
    const pids = new Map([...stack.processes].map(([s, c]) => [s, c.pid]));
    const variants = Object.entries(VARIANTS);
    const poison = Array.from({ length: POISON }, (_, n) => {
      const target = TARGETS[n % TARGETS.length] ?? TARGETS[0];
      const huge = n < HUGE;
      const hugeBody: MakePoison = (valid) => ({
        body: Buffer.from(JSON.stringify({ ...valid, message: 'x'.repeat(2 ** 21) })),
      });
      const [variant, make]: [string, MakePoison] = huge
        ? ['huge (2 MiB)', hugeBody]
        : (variants[Math.floor(n / TARGETS.length) % variants.length] ?? [
            'empty body',
            () => ({ body: Buffer.alloc(0) }),
          ]);
      const { body, noJobId, type } = make(target.valid);
      return {
        variant,
        queue: `${stack.prefix}.${target.consumer}.${target.type}`,
        messageId: randomUUID(),
        body,
        noJobId: noJobId ?? false,
        type: type ?? target.type,
      };
    });

    const admin = await BrokerAdmin.connect(rabbit.url);
    const traffic = new Traffic(stack.urls.gateway, { concurrency: 8, paymentShare: 0.1 }).start(GOOD_JOBS);
    try {
      await admin.publishAll(
        poison.map((p) => ({
          exchange: '',
          routingKey: p.queue,
          content: p.body,
          options: {
            messageId: p.messageId,
            type: p.type,
            contentType: 'application/json',
            headers: {
              ...(p.noJobId ? {} : { 'job-id': randomUUID() }),
              tenant: 'fault',
              attempt: 1,
            },
          },
        })),
      );
    } finally {
      await admin.close();
    }
    await traffic.finished();

    const ids = poison.map((p) => p.messageId);
    const archivedRows = async () =>
      stack.query<{ message_id: string; attempts: number; code: string }>(
        `SELECT message_id, attempts, error->>'code' AS code FROM gateway.dead_letters WHERE message_id = ANY($1)`,
        [ids],
      );
    let archived = await archivedRows();
    await waitFor(
      async () => {
        archived = await archivedRows();
        return archived.length === ids.length;
      },
      { timeoutMs: 120_000, intervalMs: 1000, description: 'every poison message archived' },
    ).catch(() => undefined);
    const good = await reckon(stack, traffic.accepted(), 120_000);

    const byId = new Map(archived.map((r) => [r.message_id, r]));
    const perVariant: [string, unknown][] = [];
    for (const variant of new Set(poison.map((p) => p.variant))) {
      const ofVariant = poison.filter((p) => p.variant === variant);
      const rows = ofVariant.flatMap((p) => byId.get(p.messageId) ?? []);
      const codes = [...new Set(rows.map((r) => r.code))].join(', ');
      perVariant.push([variant, `${rows.length} / ${ofVariant.length} archived (${codes})`]);
    }
    const overLimit = archived.filter((r) => r.attempts > 1).length;
    const alive = SERVICES.map((s) => {
      const child = stack.processes.get(s);
      return `${s}: ${child?.pid === pids.get(s) && child?.process.exitCode === null ? 'same pid, up' : 'RESTARTED/DEAD'}`;
    });
    const ready = await Promise.all(
      SERVICES.map(async (s) => (await fetch(`${stack.urls[s]}/health/ready`)).status),
    );
    printTable('Scenario 4 — poison messages straight into the work queues among good traffic', [
      ['poison published', `${POISON} over ${TARGETS.length} work queues (${HUGE} of them 2 MiB)`],
      ...perVariant,
      ['archived in gateway.dead_letters', `${archived.length} / ${POISON}`],
      ['archived after more than one attempt', overLimit],
      ['services', alive.join('; ')],
      ['/health/ready', ready.join(', ')],
      ['good requests: answers', traffic.statusCounts()],
      ['good jobs lost (missing / not terminal)', `${good.missing} / ${good.notTerminal}`],
      ['good jobs by status', good.byStatus],
      ['good jobs failed unexpectedly', good.unexpectedFailures],
    ]);

    expect(archived.length).toBe(POISON);
    expect(overLimit).toBe(0);
    expect(alive.filter((a) => !a.endsWith('same pid, up'))).toEqual([]);
    expect(ready).toEqual(SERVICES.map(() => 200));
    expect(good.missing).toBe(0);
    expect(good.notTerminal).toBe(0);
    expect(good.unexpectedFailures).toBe(0);
  });
});

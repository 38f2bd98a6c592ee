import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TopologyNames } from '#messaging';
import { BrokerAdmin, Stack, waitFor } from '#testing';

const API_KEYS = 'acme:acme-key:jobs:write+jobs:read,ops:ops-key:admin';
const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Git-ignored: what the dashboard looked like at each step. */
const SCREENSHOTS = 'test-output/screenshots';

/** The dashboard served by the built gateway, driven in headless Chromium against a real stack. */
describe('dashboard in a browser', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let gateway: string;
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Both started at once; whichever came up is kept for afterAll even if the other failed (a machine
    // without Chromium left the stack's processes running and jest waiting for them).
    const [started, launched] = await Promise.allSettled([
      Stack.start({
        label: 'e2e-dash',
        env: {
          API_KEYS,
          RETRY_TIERS: '200ms',
          ORDERS_SEED_ROWS: '1000',
          RABBITMQ_MANAGEMENT_URL: MANAGEMENT_URL,
        },
        services: ['gateway', 'report-service'],
      }),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] }),
    ]);
    if (started.status === 'fulfilled') stack = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    for (const outcome of [started, launched]) if (outcome.status === 'rejected') throw outcome.reason;
    gateway = stack.urls.gateway;
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // Chromium logs every non-2xx response (the deliberate 401 below) as "Failed to load resource".
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.status() >= 500) problems.push(`${response.status()} from ${response.url()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const api = async <T>(path: string, key = 'ops-key', body?: unknown): Promise<T> => {
    const response = await fetch(`${gateway}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.ok).toBe(true);
    return (await response.json()) as T;
  };
  const shot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
  const detailId = async () => (await page.getByTestId('detail-id').textContent()) ?? '';

  async function sendEchoFromForm(fields: { message: string; cpuMs: number; failPermanently?: boolean }) {
    const before = await detailId();
    await page.getByTestId('echo-message').fill(fields.message);
    await page.getByTestId('echo-cpu-ms').fill(String(fields.cpuMs));
    await page.getByTestId('echo-fail-permanently').setChecked(fields.failPermanently ?? false);
    await page.getByTestId('echo-submit').click();
    // The form opens the new job's detail.
    return waitFor(
      async () => {
        const id = await detailId();
        return /^[0-9a-f-]{36}$/.test(id) &&
          id !== before &&
          (await page.getByTestId('job-detail').isVisible())
          ? id
          : undefined;
      },
      { description: 'the new job’s detail open' },
    );
  }

  it('refuses an unknown key with a clear 401 message, then signs in with an admin key that survives a reload', async () => {
    await page.goto(`${gateway}/dashboard`);
    await page.getByTestId('api-key').fill('not-a-key');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('sign-in-error').filter({ hasText: '401' }).waitFor();
    expect(await page.getByTestId('jobs-panel').isVisible()).toBe(false);

    await page.getByTestId('api-key').fill('ops-key');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('jobs-panel').waitFor();
    expect(await page.getByTestId('whoami').textContent()).toMatch(/admin/);
    expect(await page.evaluate('sessionStorage.getItem("conveyor.apiKey")')).toBe('ops-key');

    await page.reload();
    await page.getByTestId('jobs-panel').waitFor();
    await page.getByTestId('dead-letters-panel').waitFor();
    await page.getByTestId('queues-panel').waitFor();
  });

  it('sends a test job from the form and watches its progress bar reach 100 % over SSE', async () => {
    const id = await sendEchoFromForm({ message: 'watch me', cpuMs: 3000 });
    const seen: [string, number][] = [];
    await waitFor(
      async () => {
        // <progress> reflects its value property in the attribute.
        const status = (await page.getByTestId('detail-status').textContent()) ?? '';
        const value = Number(await page.getByTestId('detail-progress').getAttribute('value'));
        seen.push([status, value]);
        return status === 'succeeded';
      },
      { timeoutMs: 20_000, intervalMs: 100, description: 'the detail at succeeded' },
    );
    // It was watched, not just found finished: running below 100 first, then succeeded at 100.
    expect(seen[0]![1]).toBeLessThan(100);
    expect(seen.map(([status]) => status)).toContain('running');
    expect(seen.at(-1)).toEqual(['succeeded', 100]);
    expect(await page.getByTestId('detail-progress-text').textContent()).toBe('100 %');
    expect(await page.getByTestId('detail-result').textContent()).toContain('"message": "watch me"');
    // The detail is only updated by its stream (the list poll does not touch it), read with fetch.
    expect(requested).toContain(`${gateway}/v1/jobs/${id}/events`);
    const row = page.locator(`tr[data-job-id="${id}"]`);
    await row.getByTestId('job-status').filter({ hasText: 'succeeded' }).waitFor();
    expect(await row.getByTestId('job-progress').getAttribute('value')).toBe('100');
    expect(await api(`/v1/jobs/${id}`)).toMatchObject({ status: 'succeeded', progress: 100 });
    await shot('01-jobs-table-signed-in');
    await page.getByTestId('job-detail').screenshot({ path: `${SCREENSHOTS}/02-job-at-100.png` });
  });

  it('replays a dead letter from the panel, and the entry leaves the pending list', async () => {
    const id = await sendEchoFromForm({ message: 'doomed', cpuMs: 0, failPermanently: true });
    const row = page.locator(`[data-testid=dead-letter-row][data-job-id="${id}"]`);
    await waitFor(
      async () => {
        await page.getByTestId('dead-letters-refresh').click();
        return (await row.count()) === 1;
      },
      { timeoutMs: 15_000, intervalMs: 300, description: 'the dead letter listed' },
    );
    expect(await row.getByTestId('dead-letter-error').textContent()).toMatch(
      /permanent_failure\s+Echo asked to fail permanently/,
    );
    const letterId = (await row.getAttribute('data-dead-letter-id'))!;
    await page
      .getByTestId('dead-letters-panel')
      .screenshot({ path: `${SCREENSHOTS}/03-dead-letters-before.png` });

    await row.getByTestId('dead-letter-replay').click();
    await page.getByTestId('status').filter({ hasText: 'replayed' }).waitFor();
    await page.locator(`[data-dead-letter-id="${letterId}"]`).waitFor({ state: 'detached' });
    await page
      .getByTestId('dead-letters-panel')
      .screenshot({ path: `${SCREENSHOTS}/04-dead-letters-after.png` });
    const letter = await api<{ replayedAt: string | null; replayedBy: string }>(
      `/v1/admin/dead-letters/${letterId}`,
    );
    expect(letter.replayedAt).not.toBeNull();
    expect(letter.replayedBy).toMatch(/^ops\//);
  });

  it('lists the dead letter of a message without a job next to the others, with nothing to replay', async () => {
    // A command that came without a job-id header: dead-lettered at once, archived with no job.
    const admin = await BrokerAdmin.connect();
    try {
      await admin.publish(
        new TopologyNames(stack.prefix).commands,
        'echo.run',
        Buffer.from('{"message":"x"}'),
        {
          type: 'echo.run',
          contentType: 'application/json',
          messageId: randomUUID(),
          persistent: true,
        },
      );
    } finally {
      await admin.close();
    }
    const row = page.locator('[data-testid=dead-letter-row][data-job-id=""]');
    // Before: the row builder failed on the missing job id and the panel said it could not load any.
    await waitFor(
      async () => {
        await page.getByTestId('dead-letters-refresh').click();
        return (await row.count()) === 1;
      },
      { timeoutMs: 15_000, intervalMs: 300, description: 'the letter without a job listed' },
    );
    expect(await row.getByTestId('dead-letter-error').textContent()).toMatch(/invalid_payload/);
    expect(await row.getByTestId('dead-letter-replay').count()).toBe(0);
    expect(await row.getByTestId('dead-letter-discard').count()).toBe(1);
  });

  it('charts the jobs it sees finishing and lists the queues with their consumers', async () => {
    // Another tenant's jobs: an admin key sees every tenant's.
    for (let i = 0; i < 30; i++) await api('/v1/echo', 'acme-key', { message: `burst ${i}`, cpuMs: 50 });
    const chart = page.getByTestId('throughput-chart');
    // Counted from the dashboard's own samples of the newest jobs, the burst included.
    await waitFor(async () => Number(await chart.getAttribute('data-finished')) >= 30, {
      timeoutMs: 20_000,
      intervalMs: 250,
      description: 'the burst counted as finished',
    });
    await waitFor(async () => Number(await chart.getAttribute('data-samples')) >= 2, {
      timeoutMs: 10_000,
      intervalMs: 250,
      description: 'two samples charted',
    });
    expect(Number(await chart.getAttribute('data-peak-rate'))).toBeGreaterThan(0);
    expect(await chart.locator('polyline').count()).toBe(2);
    const work = page.locator(
      `[data-testid=queue-row][data-queue="${stack.prefix}.report-service.echo.run"]`,
    );
    await waitFor(async () => (await work.locator('td').nth(4).textContent()) === '1', {
      timeoutMs: 20_000,
      intervalMs: 500,
      description: 'the echo work queue listed with its consumer',
    });
    await page.getByTestId('queues-panel').screenshot({ path: `${SCREENSHOTS}/05-queues-chart.png` });
  });

  it('kept to its own origin and CSP, never put the key in a URL, and signs out', async () => {
    expect(problems).toEqual([]);
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => !url.startsWith(`${gateway}/`))).toEqual([]);
    expect(requested.filter((url) => /ops-key|not-a-key/.test(url))).toEqual([]);
    // Nameless, the key field is left out should the form ever submit itself (Enter before the script ran).
    expect(await page.locator('#api-key').getAttribute('name')).toBeNull();

    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-panel').waitFor();
    expect(await page.getByTestId('jobs-panel').isVisible()).toBe(false);
    expect(await page.evaluate('sessionStorage.getItem("conveyor.apiKey")')).toBeNull();
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Stack, waitFor } from '#testing';

const run = promisify(execFile);
const KEY = 'pdf-key';
const SEED_ROWS = 20_000;

interface Job {
  id: string;
  status: string;
  progress: number;
  result?: { rows: number; bytes: number; contentType: string; artifactId: string };
}

/** A PDF report through the gateway, checked with poppler's tools against what SQL says. */
describe('a PDF report, end to end through the gateway', () => {
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-pdf-'));
    stack = await Stack.start({
      label: 'e2e-pdf',
      env: { API_KEYS: `acme:${KEY}:jobs:write+jobs:read`, ORDERS_SEED_ROWS: String(SEED_ROWS) },
      services: ['gateway', 'report-service'],
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function call(path: string, body?: unknown): Promise<Response> {
    return fetch(`${stack.urls.gateway}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function pdfText(file: string, page?: number): Promise<string> {
    const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
    const { stdout } = await run('/usr/bin/pdftotext', ['-layout', ...range, file, '-']);
    return stdout;
  }

  it('renders the filtered orders as a PDF whose title page totals are what SQL counts', async () => {
    const filters = { from: '2025-03-01', to: '2025-08-31', status: 'paid' };
    const submitted = await call('/v1/reports', { format: 'pdf', dataset: 'orders', filters });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as Job;

    const done = await waitFor(
      async () => {
        const job = (await (await call(`/v1/jobs/${id}`)).json()) as Job;
        return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, description: 'the PDF report to finish' },
    );
    expect(done).toMatchObject({
      status: 'succeeded',
      progress: 100,
      result: { contentType: 'application/pdf' },
    });

    const download = await call(`/v1/reports/${id}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/^application\/pdf/);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="report-${id}.pdf"`);
    const pdf = Buffer.from(await download.arrayBuffer());
    expect(pdf.length).toBe(done.result?.bytes);
    const file = join(dir, 'report.pdf');
    await writeFile(file, pdf);

    const where = `WHERE created_at >= $1::date AND created_at < $2::date + 1 AND status = $3`;
    const params = [filters.from, filters.to, filters.status];
    const expected = await stack.query<{ currency: string; orders: number; total: string }>(
      `SELECT currency, count(*)::int AS orders,
              CASE WHEN currency = 'JPY' THEN sum(amount_minor)::text
                   ELSE to_char(sum(amount_minor) / 100.0, 'FM999999999990.00') END AS total
         FROM report.orders ${where} GROUP BY currency ORDER BY currency`,
      params,
    );
    const [{ rows }] = (await stack.query<{ rows: number }>(
      `SELECT count(*)::int AS rows FROM report.orders ${where}`,
      params,
    )) as [{ rows: number }];
    expect(rows).toBeGreaterThan(1000);
    expect(done.result?.rows).toBe(rows);

    const title = await pdfText(file, 1);
    expect(title).toContain('Filters: from 2025-03-01, to 2025-08-31, status paid');
    expect(title).toMatch(new RegExp(`^\\s*Rows: ${rows}\\s*$`, 'm'));
    const printed = [...title.matchAll(/^\s*([A-Z]{3})\s+(\d+)\s+(-?\d+(?:\.\d+)?)\s*$/gm)].map((m) => ({
      currency: m[1],
      orders: Number(m[2]),
      total: m[3],
    }));
    expect(printed).toEqual(expected);

    // Numbered "Page n of m" on every page, m being the real page count.
    const { stdout: info } = await run('/usr/bin/pdfinfo', [file]);
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(info)?.[1]);
    expect(pages).toBeGreaterThan(2);
    const header = /^\s*id\s+customer\s+amount\s+currency\s+status\s+created_at\s*$/m;
    for (const page of [1, 2, 3, pages]) {
      expect(await pdfText(file, page)).toMatch(new RegExp(`Page ${page} of ${pages}\\s*$`, 'm'));
    }
    // The table header is repeated on the following pages, not only the first one.
    expect(await pdfText(file, 2)).toMatch(header);
    expect(await pdfText(file, 3)).toMatch(header);
    // The closing totals on the last page agree too.
    const last = await pdfText(file, pages);
    for (const total of expected) {
      expect(last).toMatch(
        new RegExp(`^\\s*${total.currency}\\s+${total.orders}\\s+${total.total}\\s*$`, 'm'),
      );
    }

    // Every order of the filter is in the table, once.
    const all = await pdfText(file);
    const ids = all.match(/^\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gm) ?? [];
    expect(new Set(ids.map((s) => s.trim())).size).toBe(rows);

    // The first page renders to an image that is not blank.
    await run('/usr/bin/pdftoppm', [
      '-r',
      '30',
      '-gray',
      '-f',
      '1',
      '-l',
      '1',
      '-singlefile',
      file,
      join(dir, 'p1'),
    ]);
    const pgm = await readFile(join(dir, 'p1.pgm'));
    const head = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 64).toString('latin1'));
    expect(head).not.toBeNull();
    const pixels = pgm.subarray(head![0].length);
    expect(pixels.length).toBe(Number(head![1]) * Number(head![2]));
    expect(pixels.some((value) => value < 128)).toBe(true);
    expect(pixels.filter((value) => value === 255).length).toBeGreaterThan(pixels.length / 2);
  });
});

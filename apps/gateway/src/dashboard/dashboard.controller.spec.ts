import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DASHBOARD_CSP, DashboardController } from './dashboard.controller.js';

/**
 * The dashboard's static files through the real fastify adapter, on a loopback port (fastify's inject()
 * cannot load under jest's ESM sandbox).
 */
describe(DashboardController.name, () => {
  let app: NestFastifyApplication;
  let base: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [DashboardController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
  });

  async function get(path: string) {
    const response = await fetch(`${base}${path}`);
    return { statusCode: response.status, headers: response.headers, body: await response.text() };
  }

  it('serves the page as HTML under a CSP that allows only its own origin and no inline script', async () => {
    const response = await get('/dashboard');
    expect(response.statusCode).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = String(response.headers.get('content-security-policy'));
    expect(csp).toBe(DASHBOARD_CSP);
    expect(csp).toMatch(/(^|; )default-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(response.body).toMatch(/^<!doctype html>/i);
    expect(response.body).toContain('<script type="module" src="/dashboard/app.js"></script>');
    expect(response.body).toContain('<link rel="stylesheet" href="/dashboard/dashboard.css" />');
    // No inline script or style the CSP would block anyway, and no inline event handlers.
    expect(response.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(response.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('serves the module and the stylesheet with their content types and the same CSP', async () => {
    const script = await get('/dashboard/app.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(script.body).toContain('fetch(`/v1/jobs/${encodeURIComponent(id)}/events`');

    const styles = await get('/dashboard/dashboard.css');
    expect(styles.statusCode).toBe(200);
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(styles.body).toContain('progress');
  });

  it('references no other host: every URL in the page, module and stylesheet is same-origin', async () => {
    for (const url of ['/dashboard', '/dashboard/app.js', '/dashboard/dashboard.css']) {
      const { body } = await get(url);
      // The SVG namespace is an identifier, never fetched.
      const external = [...body.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"`)]*/gi)]
        .map((m) => m[0])
        .filter((found) => found !== 'http://www.w3.org/2000/svg');
      expect([url, external]).toEqual([url, []]);
      expect(body).not.toMatch(/@import|url\(/);
    }
  });

  it('keeps the API key out of URLs: it is only ever sent as an Authorization header', async () => {
    const { body } = await get('/dashboard/app.js');
    expect(body).toContain('authorization: `Bearer ${state.key}`');
    expect(body).not.toMatch(/[?&](api[_-]?key|key|token)=/i);
    expect(body).not.toMatch(/new EventSource|localStorage/);
  });

  it('is 404 for a file that is not one of its assets', async () => {
    expect((await get('/dashboard/%2e%2e/package.json')).statusCode).toBe(404);
    expect((await get('/dashboard/index.html')).statusCode).toBe(404);
  });
});

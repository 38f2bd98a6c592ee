import { readFileSync } from 'node:fs';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * Nothing inline and nothing from another origin: the page is one HTML file, one ES module and one
 * stylesheet, all from here, and the script talks only to this gateway's /v1 API.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Shipped beside the compiled controller: `npm run build` copies assets/ into dist/ (scripts/copy-assets.ts). */
const assetsDir = new URL('./assets/', import.meta.url);
const asset = (name: string) => readFileSync(new URL(name, assetsDir), 'utf8');

/**
 * The operator dashboard at /dashboard: static files only, no session on the server. The page asks for an
 * API key, keeps it in sessionStorage and sends it as a Bearer header to the same /v1 API as any client.
 */
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  // Read once at start: a missing file fails the boot, not the first visitor.
  private readonly html = asset('index.html');
  private readonly appScript = asset('app.js');
  private readonly styles = asset('dashboard.css');

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return this.html;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  module(): string {
    return this.appScript;
  }

  @Get('dashboard.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  stylesheet(): string {
    return this.styles;
  }
}

import type { FastifyInstance } from 'fastify';

/** What helmet would set for a JSON API; a route that set its own (the dashboard's CSP) keeps it. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-dns-prefetch-control': 'off',
  'x-permitted-cross-domain-policies': 'none',
};

/** API responses load nothing; Swagger UI (`/docs`) needs its own scripts and styles. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export function addSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) void reply.header(name, value);
    }
    if (!reply.hasHeader('content-security-policy') && !request.url.startsWith('/docs')) {
      void reply.header('content-security-policy', API_CSP);
    }
    done(null, payload);
  });
}

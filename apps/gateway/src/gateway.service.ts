import type { ServiceDefinition } from '#bootstrap';
import { runMigrations, withDataSource } from '#database';
import { setUpOpenApi } from './docs/openapi.js';
import type { GatewayConfig } from './gateway.config.js';
import { GATEWAY_SCHEMA, gatewayDatabase } from './gateway.database.js';
import { GatewayModule, SERVICE_NAME } from './gateway.module.js';
import { HttpErrorsFilter } from './http/http-errors.filter.js';
import { addSecurityHeaders } from './http/security-headers.js';

/**
 * Migrates the gateway's schema, then describes the service: what main.ts and the tests start.
 * In-process tests pass `openApi: false`: jest's ESM sandbox cannot `require` Swagger's @fastify/static
 * (the end-to-end tests, which run the built service, cover /docs).
 */
export async function prepareGateway(
  config: GatewayConfig,
  { openApi = true } = {},
): Promise<ServiceDefinition> {
  await withDataSource(gatewayDatabase(config), (db) => runMigrations(db, GATEWAY_SCHEMA));
  return {
    name: SERVICE_NAME,
    config,
    module: GatewayModule.register(config),
    consumes: true,
    configure: (app) => {
      const fastify = app.getHttpAdapter().getInstance();
      // JSON only: any other body type is a 415 (and createService keeps Nest's form parser out).
      fastify.removeContentTypeParser('text/plain');
      addSecurityHeaders(fastify);
      app.useGlobalFilters(new HttpErrorsFilter());
      if (openApi) setUpOpenApi(app);
    },
  };
}

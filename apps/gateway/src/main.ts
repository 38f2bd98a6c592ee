import { runService } from '#bootstrap';
import { loadConfigOrExit } from '#config';
import { runMigrations, withDataSource } from '#database';
import { setUpOpenApi } from './docs/openapi.js';
import { gatewayConfigSchema } from './gateway.config.js';
import { GATEWAY_SCHEMA, gatewayDatabase } from './gateway.database.js';
import { GatewayModule, SERVICE_NAME } from './gateway.module.js';
import { HttpErrorsFilter } from './http/http-errors.filter.js';

runService(async () => {
  const config = loadConfigOrExit(gatewayConfigSchema);
  await withDataSource(gatewayDatabase(config), (db) => runMigrations(db, GATEWAY_SCHEMA));
  return {
    name: SERVICE_NAME,
    config,
    module: GatewayModule.register(config),
    consumes: true,
    configure: (app) => {
      // JSON only: without fastify's text/plain parser, any other body type is a 415.
      app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
      app.useGlobalFilters(new HttpErrorsFilter());
      setUpOpenApi(app);
    },
  };
});

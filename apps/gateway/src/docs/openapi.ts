import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** Swagger UI at /docs and the document at /docs-json, served locally (no CDN). */
export function setUpOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Conveyor')
    .setDescription('Durable asynchronous jobs: submit, watch, download. See API.md for the full contract.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
    .build();
  SwaggerModule.setup('docs', app, () => withProbeAnswers(SwaggerModule.createDocument(app, config)), {
    jsonDocumentUrl: 'docs-json',
  });
}

/**
 * The health probes' answers (terminus's result). The probes do not ask terminus to document them: it would
 * load `@nestjs/swagger` into every service for it (see `libs/health`).
 */
function withProbeAnswers(document: OpenAPIObject): OpenAPIObject {
  const components = { type: 'object', additionalProperties: { type: 'object', required: ['status'] } };
  const answer = (status: string, description: string) => ({
    description,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['status'],
          properties: {
            status: { type: 'string', example: status },
            info: components,
            error: components,
            details: components,
          },
        },
      },
    },
  });
  for (const path of ['/health/live', '/health/ready']) {
    const get = document.paths[path]?.get;
    if (get) {
      get.responses = {
        '200': answer('ok', 'Every check passed'),
        '503': answer('error', 'A check failed, or the service is shutting down'),
      };
    }
  }
  return document;
}

import { HttpCode, HttpStatus, Post, UseGuards, applyDecorators } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiKeyGuard, RequireScope } from '../auth/api-key.guard.js';

/** The decorators every submit route shares: POST, jobs:write, 202, the body documented from its schema. */
export function SubmitJob(summary: string, schema: z.ZodType): MethodDecorator {
  return applyDecorators(
    Post(),
    HttpCode(HttpStatus.ACCEPTED),
    UseGuards(ApiKeyGuard),
    RequireScope('jobs:write'),
    ApiBearerAuth(),
    ApiOperation({ summary }),
    ApiBody({
      schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as Record<string, unknown>,
    }),
    ApiAcceptedResponse({ description: 'The job, queued: it will run' }),
  );
}

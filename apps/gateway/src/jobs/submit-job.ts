import {
  BadRequestException,
  createParamDecorator,
  HttpCode,
  HttpStatus,
  Post,
  UseGuards,
  applyDecorators,
  type ExecutionContext,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ApiKeyGuard, RequireScope } from '../auth/api-key.guard.js';
import type { TracedRequest } from '#bootstrap';
import { traceparentFrom, traceparentOf } from '#messaging';
import type { AuthenticatedRequest, Principal } from '../auth/principal.js';
import { requestHash } from './canonical-json.js';
import { toJobView, type JobView } from './job.view.js';
import { isStorableTime, Notify, type JobKind } from '#contracts';
import type { JobsService, Submission } from './jobs.service.js';

/** The decorators every submit route shares: POST, jobs:write, 202, the body documented from its schema. */
export function SubmitJob(summary: string, schema: z.ZodType, { keyRequired = false } = {}): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: keyRequired,
      description: 'Same key + same body within 24 h returns the same job (200); another body is a 409',
    }),
    ApiOkResponse({ description: 'The job this Idempotency-Key created before, as it is now' }),
    ApiConflictResponse({ description: 'The Idempotency-Key was used with another body' }),
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

const VISIBLE_ASCII = /^[\x21-\x7e]{1,255}$/;

/** What every submit route reads from the request besides its validated body. */
export interface SubmitCaller {
  readonly principal: Principal;
  readonly idempotencyKey: string | undefined;
  /** The body as sent, for comparing repeated requests (canonical JSON). */
  readonly rawBody: unknown;
}

/** The caller of a submit route: its API key's principal, its Idempotency-Key, its body as sent. */
export const SubmitCallerOf = createParamDecorator((_: unknown, context: ExecutionContext): SubmitCaller => {
  const request = context
    .switchToHttp()
    .getRequest<AuthenticatedRequest & { headers: Record<string, unknown>; body: unknown }>();
  if (!request.principal) throw new Error('SubmitCallerOf used on a route without ApiKeyGuard');
  const key = request.headers['idempotency-key'];
  return {
    principal: request.principal,
    idempotencyKey: typeof key === 'string' ? key : undefined,
    rawBody: request.body,
  };
});

/** What a submit route adds to its caller: which route and kind, the validated body. */
export interface SubmitRequest {
  /** The route the key is scoped to, e.g. `reports`. */
  readonly route: string;
  readonly keyRequired?: boolean;
  readonly kind: JobKind;
  /** The validated body: the command, plus `runAt` when the caller wants it later. */
  readonly body: SubmittedBody;
  readonly reply: FastifyReply;
}

/** What every submit route's body may add to its command (API.md). */
export type SubmittedBody = Record<string, unknown> & {
  readonly runAt?: string | undefined;
  readonly notify?: Notify | undefined;
};

/** A command schema as a submit route accepts it: plus an optional `runAt` with a time zone and `notify`. */
export function submittable(schema: z.ZodObject) {
  return schema.extend({
    runAt: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 time with Z or an offset' })
      .refine((v) => isStorableTime(new Date(v)), 'must be in the years 1 to 9999 (UTC)')
      .optional(),
    notify: Notify.optional(),
  });
}

/**
 * {@link submittable} for a command that is a union of objects told apart by one field (notifications'
 * `channel`): each option gets `runAt` and `notify`, and stays strict about unknown fields.
 */
export function submittableUnion(schema: z.ZodDiscriminatedUnion<readonly [z.ZodObject, ...z.ZodObject[]]>) {
  const [first, ...rest] = schema.options;
  return z.discriminatedUnion(schema.def.discriminator, [
    submittable(first),
    ...rest.map((option) => submittable(option)),
  ]);
}

/** Submits, honouring Idempotency-Key: 202 for a new job, 200 for the job an earlier identical request made. */
export async function submitJob(
  jobs: JobsService,
  caller: SubmitCaller,
  request: SubmitRequest,
): Promise<JobView> {
  const { idempotencyKey: key, principal } = caller;
  // The caller's trace (or a new one) travels with the job: outbox, command, lifecycle events, log lines.
  const span = (request.reply.request as TracedRequest).span;
  const traceparent =
    (span && traceparentOf(span)) ?? traceparentFrom(request.reply.request.headers.traceparent);
  const { runAt, notify, ...command } = request.body;
  const at = runAt === undefined ? undefined : new Date(runAt);
  const submission: Submission = {
    kind: request.kind,
    command,
    // Echoed back as accepted, with runAt normalised to UTC.
    input: {
      ...command,
      ...(at ? { runAt: at.toISOString() } : {}),
      ...(notify === undefined ? {} : { notify }),
    },
    traceparent,
    ...(notify === undefined ? {} : { notify }),
    ...(at ? { runAt: at } : {}),
  };
  if (key === undefined) {
    if (request.keyRequired)
      throw new BadRequestException(['Idempotency-Key: header is required on this route']);
    return toJobView(await jobs.submit(principal, submission));
  }
  if (!VISIBLE_ASCII.test(key)) {
    throw new BadRequestException(['Idempotency-Key: must be 1 to 255 visible ASCII characters']);
  }
  const outcome = await jobs.submitOnce(
    principal,
    { key, route: request.route, requestHash: requestHash(caller.rawBody) },
    submission,
  );
  if (!outcome.created) void request.reply.status(HttpStatus.OK);
  return toJobView(outcome.job);
}

import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

/** Validates a body or query against a zod schema: 400 with one message per problem, naming the field. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    /** `optional body`: a bodiless request (e.g. a replay without an edit) is fine too. */
    private readonly what: 'body' | 'optional body' | 'query' = 'body',
  ) {}

  transform(value: unknown): z.output<S> {
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (this.what !== 'query' && !isObject && !(this.what === 'optional body' && value === undefined)) {
      throw new BadRequestException(['body: must be a JSON object']);
    }
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const label = this.what === 'query' ? 'query' : 'body';
    throw new BadRequestException(
      parsed.error.issues.map((issue) => `${[label, ...issue.path].join('.')}: ${issue.message}`),
    );
  }
}

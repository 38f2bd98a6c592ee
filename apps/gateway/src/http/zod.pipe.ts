import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { isStorableText } from '#database';

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
    const unstorable = unstorableText(value);
    if (unstorable)
      throw new BadRequestException([`${this.what === 'query' ? 'query' : 'body'}${unstorable}`]);
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const label = this.what === 'query' ? 'query' : 'body';
    throw new BadRequestException(
      parsed.error.issues.map((issue) => `${[label, ...issue.path].join('.')}: ${issue.message}`),
    );
  }
}

/** Deepest nesting of arrays and objects a body may have (a webhook payload's, say). */
export const MAX_BODY_DEPTH = 64;

/**
 * Where `value` has text Postgres cannot store, or nests too deep to validate: `: …` after the path of the
 * first such place, or undefined. Postgres refuses NUL characters and unpaired UTF-16 surrogates in text and
 * jsonb, and a refusal there would fail the statement, and with it every submission sharing that group
 * commit; zod's recursive checks overflow the stack a few thousand levels down. One walk, no recursion.
 */
export function unstorableText(value: unknown): string | undefined {
  const pending: [unknown, string, number][] = [[value, '', 0]];
  const bad = (text: string) => !isStorableText(text);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, path, depth] = next;
    if (typeof item === 'string') {
      if (bad(item)) return `${path}: must not contain NUL characters or unpaired surrogates`;
    } else if (typeof item === 'object' && item !== null) {
      if (depth >= MAX_BODY_DEPTH) return `${path}: nests deeper than ${MAX_BODY_DEPTH} levels`;
      for (const [key, child] of Object.entries(item)) {
        if (bad(key)) return `${path}: has a key with NUL characters or unpaired surrogates`;
        pending.push([child, `${path}.${key}`, depth + 1]);
      }
    }
  }
  return undefined;
}

import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { parsePayload } from './contract.js';
import { JobEvents } from './events.js';
import { isJsonValue } from './json-value.js';

describe('isJsonValue', () => {
  it.each([
    ['a string', 'x'],
    ['a number', -1.5],
    ['a boolean', false],
    ['null', null],
    ['an empty object', {}],
    ['an empty array', []],
    ['nested values', { a: [1, 'two', { three: [null, true] }], b: { c: {} } }],
    ['an object without a prototype', Object.assign(Object.create(null) as object, { a: 1 })],
    ['what JSON.parse made of a __proto__ key', JSON.parse('{"__proto__": {"x": 1}}') as unknown],
  ])('accepts %s', (_name, value) => {
    expect(isJsonValue(value)).toBe(true);
  });

  it.each([
    ['undefined', undefined],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a bigint', 1n],
    ['a symbol', Symbol('s')],
    ['a function', () => 1],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    [
      'a class instance',
      new (class Point {
        x = 1;
      })(),
    ],
    ['an undefined deep inside', { a: [1, { b: undefined }] }],
    ['a NaN deep inside', [[[[Number.NaN]]]]],
  ])('refuses %s', (_name, value) => {
    expect(isJsonValue(value)).toBe(false);
  });

  it('walks any depth without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`) as unknown;
    expect(isJsonValue(deep)).toBe(true);
  });
});

describe('job.batch results', () => {
  const succeeded = (result: unknown) => ({
    events: [
      {
        type: 'job.succeeded',
        id: randomUUID(),
        body: { jobId: randomUUID(), attempt: 1, result, at: new Date().toISOString() },
      },
    ],
  });

  it('carries any JSON result as it is', () => {
    const result = { message: 'hi', sha256: 'ab', rows: [1, 2], nested: { ok: true, none: null } };
    expect(parsePayload(JobEvents.batch, succeeded(result)).events[0]?.body).toMatchObject({ result });
  });

  it('refuses a result that is not JSON', () => {
    expect(() => parsePayload(JobEvents.batch, succeeded({ at: new Date(0) }))).toThrow(/JSON value/);
    expect(() => parsePayload(JobEvents.batch, succeeded(undefined))).toThrow();
  });
});

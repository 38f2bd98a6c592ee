import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { JobEventStream } from './job-event-stream.js';

/** What JobEventStream uses of a ServerResponse; `destroyed` as the client left it. */
function response(destroyed: boolean): ServerResponse {
  return Object.assign(new EventEmitter(), {
    destroyed,
    writableEnded: false,
    writeHead: () => undefined,
    write: () => true,
    end: () => undefined,
  }) as unknown as ServerResponse;
}

describe(JobEventStream.name, () => {
  it('ends at once for a client that left before the stream began (its close event is gone)', () => {
    const stream = new JobEventStream(response(true), undefined);
    let closed = false;
    stream.onClose(() => (closed = true));
    expect(stream.isEnded).toBe(true);
    expect(closed).toBe(true);
  });

  it('stays open for a client that is there, and ends when it leaves', () => {
    const res = response(false);
    const stream = new JobEventStream(res, undefined);
    let closed = false;
    stream.onClose(() => (closed = true));
    expect(stream.isEnded).toBe(false);
    res.emit('close');
    expect(closed).toBe(true);
  });
});

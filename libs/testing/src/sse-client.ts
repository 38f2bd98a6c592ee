/** One server-sent event as a client sees it. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

export interface SseReading {
  readonly status: number;
  readonly events: SseEvent[];
  /** True when the server ended the stream (as opposed to the reader stopping early). */
  readonly endedByServer: boolean;
}

/**
 * Reads an SSE stream with fetch (EventSource cannot send an Authorization header), until the server ends
 * it, `stopAfter` says enough, or `timeoutMs` passes.
 */
export async function readSse(
  url: string,
  headers: Record<string, string>,
  { stopAfter, timeoutMs = 30_000 }: { stopAfter?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<SseReading> {
  const abort = new AbortController();
  const timer = setTimeout(() => {
    abort.abort(new Error(`SSE read of ${url} timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, { headers, signal: abort.signal });
    if (response.status !== 200 || !response.body)
      return { status: response.status, events, endedByServer: true };
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { status: 200, events, endedByServer: true };
      buffer += decoder.decode(value, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event = parseBlock(block);
        if (event) events.push(event);
        if (stopAfter?.(events)) {
          abort.abort();
          return { status: 200, events, endedByServer: false };
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { id, event, data: data.join('\n') };
}

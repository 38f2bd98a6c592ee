import pg from 'pg';

type Query = (...args: unknown[]) => unknown;

/**
 * A pg client class whose queries give up on a server that has stopped answering.
 *
 * `statement_timeout` makes a live server cancel a long statement itself and answer with an error. A
 * server that is frozen, or behind a network path that went silent without a reset (a failover that left
 * the old primary's connections open, a partition), answers nothing at all, and TCP may take a quarter of
 * an hour to notice. Seen before this, with a gateway's connections to Postgres frozen by a proxy: a
 * submit hung until its client gave up at 45 s, and so did every submit after it, queued behind the one
 * group-commit INSERT that was stuck.
 *
 * When a query has waited `deadlineMs` for its answer, the client destroys its connection. The query, and
 * any queued behind it on that client, then fail as a connection error ("Connection terminated", which
 * the API answers with 503), and the pool discards the client instead of handing it out again. Keep
 * `deadlineMs` above `statement_timeout`, so that a live server always answers first.
 *
 * Also timed: each read of a cursor (`pg-cursor`, a report's rows) and its close, one answer at a time:
 * the cursor's portal may live for minutes, but each batch is one answer. Not timed: other submittables
 * and the callback-in-config form, which nothing here uses.
 */
export function clientWithAnswerDeadline(deadlineMs: number): typeof pg.Client {
  return class AnswerDeadlineClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const giveUp = () => {
        dropConnection(
          this,
          new Error(`Connection terminated: Postgres did not answer within ${deadlineMs} ms`),
        );
      };
      /** Calls `call`, destroying the connection if its answer (callback or promise) takes `deadlineMs`. */
      const timed = (call: Query, args: unknown[]): unknown => {
        const timer = setTimeout(giveUp, deadlineMs);
        const stop = () => {
          clearTimeout(timer);
        };
        const last = args.at(-1);
        const callback =
          typeof last === 'function' ? (last as (...results: unknown[]) => unknown) : undefined;
        if (callback) {
          args[args.length - 1] = (...results: unknown[]) => {
            stop();
            callback(...results);
          };
        }
        let result: unknown;
        try {
          result = call(...args);
        } catch (error) {
          stop();
          throw error;
        }
        if (callback) return result; // the callback stops the timer
        if (typeof (result as Promise<unknown> | undefined)?.finally !== 'function') {
          stop();
          return result;
        }
        return (result as Promise<unknown>).finally(stop);
      };
      const query = (super.query as Query).bind(this);
      (this as unknown as { query: Query }).query = (...args: unknown[]) => {
        const submittable = args[0] as Partial<Record<'submit' | 'read' | 'close', Query>> | null;
        if (typeof submittable?.submit !== 'function') return timed(query, args);
        for (const method of ['read', 'close'] as const) {
          const original = submittable[method]?.bind(submittable);
          if (original) submittable[method] = (...callArgs: unknown[]) => timed(original, callArgs);
        }
        return query(...args);
      };
    }
  };
}

/**
 * Ends `client`'s connection at once, without the goodbye a polite `end()` waits for (which a frozen or
 * silent server never sends). Its queries fail with `error` ("Connection terminated" reads as unavailable).
 */
export function dropConnection(client: pg.Client, error?: Error): void {
  (
    client as unknown as { connection: { stream: { destroy(error?: Error): void } } }
  ).connection.stream.destroy(error);
}

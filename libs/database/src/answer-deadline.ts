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
 * Not timed: submittables (a report's `pg-cursor`, whose reads are sent by the cursor itself) and the
 * callback-in-config form, which nothing here uses.
 */
export function clientWithAnswerDeadline(deadlineMs: number): typeof pg.Client {
  return class AnswerDeadlineClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const query = (super.query as Query).bind(this);
      const giveUp = () => {
        (
          this as unknown as { connection: { stream: { destroy(error: Error): void } } }
        ).connection.stream.destroy(
          new Error(`Connection terminated: Postgres did not answer within ${deadlineMs} ms`),
        );
      };
      (this as unknown as { query: Query }).query = (...args: unknown[]) => {
        const [first] = args;
        if (typeof (first as { submit?: unknown } | null)?.submit === 'function') return query(...args);
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
          result = query(...args);
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
    }
  };
}

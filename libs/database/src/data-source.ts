import { DataSource, type MixedList, type EntitySchema } from 'typeorm';
import { clientWithAnswerDeadline } from './answer-deadline.js';

export interface DatabaseOptions {
  readonly url: string;
  /** This app's schema: its tables and its migrations table live there. */
  readonly schema: string;
  // TypeORM's own types for entity and migration classes.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly migrations?: MixedList<Function | string>;
  /** Shown in pg_stat_activity. */
  readonly applicationName: string;
  readonly poolSize?: number;
  /** Postgres cancels a statement that runs longer (`statement_timeout`). Default 30 s. */
  readonly statementTimeoutMs?: number;
  /**
   * A query whose answer has not come by then fails as a connection error and its connection is dropped:
   * the server is frozen or out of reach without having said so (see `clientWithAnswerDeadline`).
   * Default: the statement timeout plus 5 s.
   */
  readonly answerDeadlineMs?: number;
}

/**
 * A DataSource that fails fast when Postgres is away (so the API answers 503 in about a second, not after
 * a hang), gives up on a Postgres that stops answering (`answerDeadlineMs`), and never synchronizes the
 * schema: schema changes are migrations.
 */
export function createDataSource(options: DatabaseOptions): DataSource {
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities ?? [],
    migrations: options.migrations ?? [],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Failed queries reach the caller as errors; TypeORM's own logging would print their parameters.
    logging: false,
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 1000,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName,
      statement_timeout: statementTimeoutMs,
      Client: clientWithAnswerDeadline(options.answerDeadlineMs ?? statementTimeoutMs + 5_000),
    },
  });
}

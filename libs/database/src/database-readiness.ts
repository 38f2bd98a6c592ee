import type { DataSource } from 'typeorm';

/** `SELECT 1` with a deadline: up/down for readiness, never a hang or a throw. */
export async function pingDatabase(
  dataSource: DataSource,
  timeoutMs = 1000,
): Promise<{ up: boolean; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dataSource.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
    return { up: true };
  } catch (error) {
    return { up: false, detail: `Postgres: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Config } from '../config.js';
import { lockDataDir } from './data-dir-lock.js';
import { type DatabaseHandle, openDatabase } from './database.js';
import { unpackInitialDatabase } from './initial-database.js';

/** A start that cannot go on; the message names the variable to look at. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Connection failures that may pass (the server is starting, restarting or not yet reachable). */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  // PostgreSQL: cannot_connect_now (starting up, shutting down), too_many_connections.
  '57P03',
  '53300',
]);

function errorCode(error: unknown): string {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : '';
}

/** The failure as a person reads it: the code and, when it says more, the driver's message. */
function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (!message || message === code) return code || 'unknown error';
  return code && !message.includes(code) ? `${code} (${message})` : message;
}

/** `host:port/database` of a PostgreSQL URL: what a log line may say of it (no user or password). */
export function describeDatabaseUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || '/'}`;
}

export interface OpenOptions {
  /** Told of each failed attempt before the next (the log); `waitMs` is the pause before it. */
  onRetry?: (reason: string, waitMs: number) => void;
}

/**
 * The database the configuration names: PostgreSQL with DATABASE_URL, else the embedded PGlite
 * database in SCAIKEY_DATA_DIR. That folder is locked for this process before anything touches it
 * (ADR 0008; a second process is refused, naming the holder), and its first start unpacks the
 * prebuilt initial database under that lock (ADR 0006).
 *
 * PostgreSQL that does not answer yet (a container starting beside ScaiKey) is retried with
 * backoff for SCAIKEY_DATABASE_WAIT; then, or at once for a permanent failure (wrong password,
 * no such database), a StartupError says what failed and names DATABASE_URL.
 */
export async function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databaseWaitMs'>,
  options: OpenOptions = {},
): Promise<DatabaseHandle> {
  if (!config.databaseUrl) {
    const lock = lockDataDir(config.dataDir, { initialize: (folder) => unpackInitialDatabase(folder) });
    // The handle releases the lock when it closes, or at once when it cannot open.
    return openDatabase({ kind: 'pglite', dataDir: config.dataDir, lock });
  }
  const where = describeDatabaseUrl(config.databaseUrl);
  const handle = await openDatabase({ kind: 'postgres', url: config.databaseUrl });
  const deadline = Date.now() + config.databaseWaitMs;
  let pause = 250;
  for (;;) {
    try {
      await sql`select 1`.execute(handle.db);
      return handle;
    } catch (error) {
      const code = errorCode(error);
      const reason = describeError(error);
      const left = deadline - Date.now();
      if (!TRANSIENT.has(code) || left <= 0) {
        await handle.close().catch(() => {});
        const waited = TRANSIENT.has(code) && config.databaseWaitMs > 0;
        throw new StartupError(
          `cannot connect to the PostgreSQL database of DATABASE_URL (${where}): ${reason}` +
            (waited ? `; still failing after ${config.databaseWaitMs / 1000} s (SCAIKEY_DATABASE_WAIT)` : ''),
        );
      }
      const wait = Math.min(pause, left);
      options.onRetry?.(`PostgreSQL of DATABASE_URL (${where}) does not answer: ${reason}`, wait);
      await delay(wait);
      pause = Math.min(pause * 2, 5000);
    }
  }
}

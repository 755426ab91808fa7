import type { Config } from '../config.js';
import { lockDataDir } from './data-dir-lock.js';
import { type DatabaseHandle, openDatabase } from './database.js';
import { unpackInitialDatabase } from './initial-database.js';

/**
 * The database the configuration names: PostgreSQL with DATABASE_URL, else the embedded PGlite
 * database in SCAIKEY_DATA_DIR. That folder is locked for this process before anything touches it
 * (ADR 0008; a second process is refused, naming the holder), and its first start unpacks the
 * prebuilt initial database under that lock (ADR 0006).
 */
export async function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openDatabase({ kind: 'postgres', url: config.databaseUrl });
  const lock = lockDataDir(config.dataDir, { initialize: (folder) => unpackInitialDatabase(folder) });
  // The handle releases the lock when it closes, or at once when it cannot open.
  return openDatabase({ kind: 'pglite', dataDir: config.dataDir, lock });
}

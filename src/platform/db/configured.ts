import type { Config } from '../config.js';
import { type DatabaseHandle, openDatabase } from './database.js';
import { fillFromInitialDatabase } from './initial-database.js';

/**
 * The database the configuration names: PostgreSQL with DATABASE_URL, else the embedded PGlite
 * database in SCAIKEY_DATA_DIR, whose first start unpacks the prebuilt initial database (ADR 0006).
 */
export async function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openDatabase({ kind: 'postgres', url: config.databaseUrl });
  fillFromInitialDatabase(config.dataDir);
  return openDatabase({ kind: 'pglite', dataDir: config.dataDir });
}

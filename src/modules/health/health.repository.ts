import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';

/** Whether the database answers a trivial statement (readiness). Throws when it does not. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

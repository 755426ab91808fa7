import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';

/**
 * Ends every session of a user: sessions, grants, refresh tokens and every other state
 * oidc-provider keeps for the account (stored in oidc_payloads with `accountId`).
 */
export async function revokeUserSessions(db: Queryable, userId: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where(sql`payload->>'accountId'`, '=', userId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

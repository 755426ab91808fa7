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

/**
 * Whether a grant (one user's sign-in to one client, oidc-provider's `Grant`) still exists and has
 * not expired. oidc-provider removes it when the user signs out, when an authorization code or a
 * rotated refresh token is presented again, and with the user's sessions.
 */
export async function grantIsLive(db: Queryable, grantId: string): Promise<boolean> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select('id')
    .where('model', '=', 'Grant')
    .where('id', '=', grantId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return !!row;
}

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

/**
 * Ends every session of a user but one sign-in: the grant `keepGrantId` (the sign-in of the access
 * token making the call), the tokens issued from it, and the browser session holding it (its
 * refresh tokens, when not `offline_access`, expire with that session). Every other session, grant,
 * refresh token, code and interaction of the user is removed. Returns how many rows were removed.
 */
export async function revokeUserSessionsExcept(
  db: Queryable,
  userId: string,
  keepGrantId: string,
): Promise<number> {
  if (!keepGrantId) return revokeUserSessions(db, userId);
  const result = await db
    .deleteFrom('oidc_payloads')
    .where(sql`payload->>'accountId'`, '=', userId)
    .where((eb) =>
      eb.not(
        eb.or([
          eb.and([eb('model', '=', 'Grant'), eb('id', '=', keepGrantId)]),
          // coalesce: a null comparison would make the whole `not (…)` null and keep the row.
          eb(sql`coalesce(grant_id, '')`, '=', keepGrantId),
          eb(sql`coalesce(payload->>'grantId', '')`, '=', keepGrantId),
          eb.and([
            eb('model', '=', 'Session'),
            eb.exists(
              sql`(select 1 from jsonb_each(coalesce(payload->'authorizations', '{}'::jsonb)) as a(client_id, entry)
                   where a.entry->>'grantId' = ${keepGrantId})`,
            ),
          ]),
        ]),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

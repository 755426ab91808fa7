import { sql } from 'kysely';
import { newId } from '../../lib/ids.js';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import type { Queryable } from '../../platform/db/database.js';

export type ActionPurpose = 'INVITATION' | 'PASSWORD_RESET';

/** How long a link works: an invitation a week, a password reset an hour (OWASP Forgot Password). */
export const TOKEN_LIFETIME_SECONDS: Record<ActionPurpose, number> = {
  INVITATION: 7 * 24 * 3600,
  PASSWORD_RESET: 3600,
};

/**
 * Issues a single-use link token: 256 random bits, only its SHA-256 digest stored. Any earlier
 * unused token of the same purpose for the user stops working.
 */
export async function issueActionToken(
  db: Queryable,
  tenantId: string,
  userId: string,
  purpose: ActionPurpose,
  redirectUri: string | null = null,
): Promise<{ token: string; expiresAt: Date }> {
  const token = generateSecret();
  const expiresAt = new Date(Date.now() + TOKEN_LIFETIME_SECONDS[purpose] * 1000);
  await db
    .updateTable('user_action_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
  await db
    .insertInto('user_action_tokens')
    .values({
      tenant_id: tenantId,
      id: newId('event').replace(/^evt_/, 'uat_'),
      user_id: userId,
      purpose,
      token_digest: sha256Hex(token),
      redirect_uri: redirectUri,
      expires_at: expiresAt,
      used_at: null,
    })
    .execute();
  return { token, expiresAt };
}

/**
 * Ends every open link of a user (invitation and password reset): after the email address changes,
 * a link mailed to the old address must not work (decisions in docs/security.md).
 */
export async function voidActionTokens(db: Queryable, tenantId: string, userId: string): Promise<number> {
  const result = await db
    .updateTable('user_action_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface ActionTokenRow {
  tenant_id: string;
  user_id: string;
  purpose: ActionPurpose;
  redirect_uri: string | null;
}

/** A live (unused, unexpired) token of this tenant, without using it up. */
export async function peekActionToken(
  db: Queryable,
  tenantId: string,
  token: string,
): Promise<ActionTokenRow | undefined> {
  return db
    .selectFrom('user_action_tokens')
    .select(['tenant_id', 'user_id', 'purpose', 'redirect_uri'])
    .where('token_digest', '=', sha256Hex(token))
    .where('tenant_id', '=', tenantId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/** Uses a token up, atomically: of two concurrent uses exactly one gets the row. */
export async function consumeActionToken(
  db: Queryable,
  tenantId: string,
  token: string,
): Promise<ActionTokenRow | undefined> {
  return db
    .updateTable('user_action_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('token_digest', '=', sha256Hex(token))
    .where('tenant_id', '=', tenantId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['tenant_id', 'user_id', 'purpose', 'redirect_uri'])
    .executeTakeFirst();
}

import type { Queryable } from '../../platform/db/database.js';

/** Remembers a revoked access token until it would have expired (RFC 7009); a repeat is a no-op. */
export async function insertRevokedToken(db: Queryable, jti: string, expiresAt: Date): Promise<void> {
  await db
    .insertInto('revoked_tokens')
    .values({ jti, expires_at: expiresAt })
    .onConflict((conflict) => conflict.column('jti').doNothing())
    .execute();
}

import { sql } from 'kysely';
import { newId } from '../../lib/ids.js';
import { sha256Hex } from '../../lib/secrets.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

export type ActionPurpose = 'INVITATION' | 'PASSWORD_RESET' | 'EMAIL_VERIFICATION';

export interface ActionTokenRow {
  tenant_id: string;
  user_id: string;
  purpose: ActionPurpose;
  redirect_uri: string | null;
}

/**
 * The single-use link tokens (invitation, password reset) of one tenant, through a tenant-bound
 * handle (platform/db/tenant-scope.ts adds the tenant predicate). Only digests are stored.
 */
export function createActionTokensRepository(db: TenantQueryable) {
  return {
    /** Ends the user's unused tokens of `purpose`, or of every purpose; how many it ended. */
    async voidOpen(userId: string, purpose?: ActionPurpose): Promise<number> {
      let query = db
        .updateTable('user_action_tokens')
        .set({ used_at: sql<Date>`now()` })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null);
      if (purpose) query = query.where('purpose', '=', purpose);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async insert(row: {
      userId: string;
      purpose: ActionPurpose;
      digest: string;
      redirectUri: string | null;
      expiresAt: Date;
    }): Promise<void> {
      await db
        .insertInto('user_action_tokens')
        .values({
          tenant_id: boundTenantId(db),
          id: newId('event').replace(/^evt_/, 'uat_'),
          user_id: row.userId,
          purpose: row.purpose,
          token_digest: row.digest,
          redirect_uri: row.redirectUri,
          expires_at: row.expiresAt,
          used_at: null,
        })
        .execute();
    },

    /** A live (unused, unexpired) token of one of `purposes`, without using it up. */
    async peek(token: string, purposes: readonly ActionPurpose[]): Promise<ActionTokenRow | undefined> {
      return db
        .selectFrom('user_action_tokens')
        .select(['tenant_id', 'user_id', 'purpose', 'redirect_uri'])
        .where('token_digest', '=', sha256Hex(token))
        .where('purpose', 'in', purposes)
        .where('used_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .executeTakeFirst();
    },

    /** Uses a token of one of `purposes` up, atomically: of two concurrent uses exactly one gets the row. */
    async consume(token: string, purposes: readonly ActionPurpose[]): Promise<ActionTokenRow | undefined> {
      return db
        .updateTable('user_action_tokens')
        .set({ used_at: sql<Date>`now()` })
        .where('token_digest', '=', sha256Hex(token))
        .where('purpose', 'in', purposes)
        .where('used_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .returning(['tenant_id', 'user_id', 'purpose', 'redirect_uri'])
        .executeTakeFirst();
    },
  };
}

import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import { deleteInBatches, type HousekeepingTask } from '../../platform/housekeeping.js';

/**
 * The clean-up of `user_action_tokens` across every tenant (conventions: `*.cross-tenant.ts`):
 * link tokens (invitations, password resets, email verification links) past their expiry, used
 * or not, can never be used again (`peek`/`consume` refuse them) and only keep a digest around.
 * Used tokens that have not expired yet stay until they do.
 */
async function deleteExpiredActionTokens(db: Queryable, size: number): Promise<number> {
  const result = await db
    .deleteFrom('user_action_tokens')
    .where(
      sql<boolean>`(tenant_id, id) in (select tenant_id, id from user_action_tokens where expires_at < now() limit ${size})`,
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Housekeeping: expired link tokens (invitations, password resets, email verification), every hour. */
export const expiredActionTokensTask = (db: Queryable): HousekeepingTask => ({
  name: 'action-tokens',
  everyMs: 60 * 60_000,
  run: () => deleteInBatches((size) => deleteExpiredActionTokens(db, size)),
});

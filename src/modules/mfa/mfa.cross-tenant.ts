import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import { deleteInBatches, type HousekeepingTask } from '../../platform/housekeeping.js';

/**
 * The clean-up of the mfa module's tables across every tenant (conventions: `*.cross-tenant.ts`):
 * challenges (a sign-in's second-factor step, an enrollment's code or WebAuthn challenge) are
 * worth nothing once expired, and a user who never comes back would otherwise keep them.
 */
async function deleteExpiredChallenges(db: Queryable, size: number): Promise<number> {
  const result = await db
    .deleteFrom('mfa_challenges')
    .where(
      sql<boolean>`(tenant_id, id) in (select tenant_id, id from mfa_challenges where expires_at < now() limit ${size})`,
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Housekeeping: expired `mfa_challenges`, every 10 minutes. */
export const expiredChallengesTask = (db: Queryable): HousekeepingTask => ({
  name: 'mfa-challenges',
  everyMs: 10 * 60_000,
  run: () => deleteInBatches((size) => deleteExpiredChallenges(db, size)),
});

import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { FederationLoginsTable } from '../../platform/db/schema.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { deleteInBatches, type HousekeepingTask } from '../../platform/housekeeping.js';

/**
 * Sign-ins in progress through an upstream provider (table federation_logins): one row per
 * redirect, its id the OAuth `state` / SAML RelayState. Kept for ten minutes.
 */
export type FederationLoginRow = Selectable<FederationLoginsTable>;

export const LOGIN_LIFETIME = '10 minutes';

export async function insertLogin(
  db: TenantQueryable,
  row: {
    tenant_id: string;
    id: string;
    identity_provider_id: string;
    interaction_uid: string;
    nonce: string;
    code_verifier: string;
  },
): Promise<void> {
  await db
    .insertInto('federation_logins')
    .values({ ...row, expires_at: sql`now() + ${LOGIN_LIFETIME}::interval` as never })
    .execute();
}

export async function setRequestId(db: TenantQueryable, id: string, requestId: string): Promise<void> {
  await db.updateTable('federation_logins').set({ request_id: requestId }).where('id', '=', id).execute();
}

/** A login waiting for the upstream's answer (not expired). */
export async function pendingLogin(db: TenantQueryable, id: string): Promise<FederationLoginRow | undefined> {
  return db
    .selectFrom('federation_logins')
    .selectAll()
    .where('id', '=', id)
    .where('status', '=', 'PENDING')
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/**
 * Records the upstream's answer, once: PENDING → VERIFIED with the identity (or the refusal).
 * False when the login was answered already (a replayed callback) or expired.
 */
export async function answerLogin(
  db: TenantQueryable,
  id: string,
  identity: Record<string, unknown>,
): Promise<boolean> {
  const result = await db
    .updateTable('federation_logins')
    .set({ status: 'VERIFIED', identity: JSON.stringify(identity) })
    .where('id', '=', id)
    .where('status', '=', 'PENDING')
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Takes the answered login of this interaction, once: VERIFIED → USED. */
export async function consumeLogin(
  db: TenantQueryable,
  id: string,
  interactionUid: string,
): Promise<FederationLoginRow | undefined> {
  return db
    .updateTable('federation_logins')
    .set({ status: 'USED' })
    .where('id', '=', id)
    .where('interaction_uid', '=', interactionUid)
    .where('status', '=', 'VERIFIED')
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}

/** Housekeeping: logins past their ten minutes (and SAML assertion ids past their expiry). */
export const federationLoginsTask = (db: Queryable): HousekeepingTask => ({
  name: 'federation-logins',
  everyMs: 10 * 60_000,
  run: async () =>
    (await deleteInBatches(async (size) => {
      const result = await db
        .deleteFrom('federation_logins')
        .where(
          sql<boolean>`(tenant_id, id) in (select tenant_id, id from federation_logins
            where expires_at < now() limit ${size})`,
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    })) +
    (await deleteInBatches(async (size) => {
      const result = await db
        .deleteFrom('saml_assertions')
        .where(
          sql<boolean>`(tenant_id, identity_provider_id, assertion_id) in (
            select tenant_id, identity_provider_id, assertion_id from saml_assertions
            where expires_at < now() limit ${size})`,
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    })),
});

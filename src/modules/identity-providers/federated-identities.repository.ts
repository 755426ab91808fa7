import { sql } from 'kysely';
import { newId } from '../../lib/ids.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

/** A user's link to an identity provider: the provider's stable key for the user (never the email). */
export interface FederatedLink {
  id: string;
  user_id: string;
  identity_provider_id: string;
  subject: string;
  removed_at: Date | null;
}

/** The link of (provider, subject), if any (a removed one included: it comes back on return). */
export async function findFederatedLink(
  db: TenantQueryable,
  providerId: string,
  subject: string,
): Promise<FederatedLink | undefined> {
  return db
    .selectFrom('federated_identities')
    .select(['id', 'user_id', 'identity_provider_id', 'subject', 'removed_at'])
    .where('identity_provider_id', '=', providerId)
    .where('subject', '=', subject)
    .executeTakeFirst();
}

/** Links a user to a provider under the provider's subject. */
export async function linkFederatedIdentity(
  db: TenantQueryable,
  link: { userId: string; providerId: string; subject: string; dn?: string | null; groups: string[] },
): Promise<string> {
  const id = newId('federatedIdentity');
  await db
    .insertInto('federated_identities')
    .values({
      tenant_id: boundTenantId(db),
      id,
      user_id: link.userId,
      identity_provider_id: link.providerId,
      subject: link.subject,
      external_dn: link.dn ?? null,
      upstream_groups: JSON.stringify(link.groups),
      last_login_at: sql`now()` as never,
    } as never)
    .execute();
  return id;
}

/** Records a sign-in through the link: what the provider said of the user's groups and DN. */
export async function touchFederatedLink(
  db: TenantQueryable,
  linkId: string,
  seen: { dn?: string | null; groups: string[] },
): Promise<void> {
  await db
    .updateTable('federated_identities')
    .set({
      external_dn: seen.dn ?? null,
      upstream_groups: JSON.stringify(seen.groups),
      last_login_at: sql`now()`,
      updated_at: sql`now()`,
      removed_at: null,
    } as never)
    .where('id', '=', linkId)
    .execute();
}

/**
 * Ends every link of a provider being deleted; answers the users that have no live link left to
 * another live provider (they become local users, docs/federation.md "Deleting a provider").
 */
export async function unlinkProvider(db: TenantQueryable, providerId: string): Promise<string[]> {
  const unlinked = await db
    .updateTable('federated_identities')
    .set({ removed_at: sql`now()`, updated_at: sql`now()` } as never)
    .where('identity_provider_id', '=', providerId)
    .where('removed_at', 'is', null)
    .returning('user_id')
    .execute();
  if (unlinked.length === 0) return [];
  const stillLinked = await db
    .selectFrom('federated_identities as f')
    .innerJoin('identity_providers as p', (join) =>
      join.onRef('p.tenant_id', '=', 'f.tenant_id').onRef('p.id', '=', 'f.identity_provider_id'),
    )
    .select('f.user_id')
    .where(
      'f.user_id',
      'in',
      unlinked.map((row) => row.user_id),
    )
    .where('f.removed_at', 'is', null)
    .where('p.deleted_at', 'is', null)
    .where('p.id', '<>', providerId)
    .execute();
  const linked = new Set(stillLinked.map((row) => row.user_id));
  return [...new Set(unlinked.map((row) => row.user_id))].filter((id) => !linked.has(id));
}

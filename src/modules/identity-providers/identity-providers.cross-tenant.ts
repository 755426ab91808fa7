import { sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Queryable } from '../../platform/db/database.js';
import type { ProviderWithCount } from './identity-providers.repository.js';

/**
 * Reads of the identity providers that cross tenants on purpose (conventions: `*.cross-tenant.ts`):
 * the admin list across the tenants the caller may see, and a provider addressed by its id alone.
 */

const usersCount = sql<number>`(select count(*)::int from federated_identities f
  where f.tenant_id = identity_providers.tenant_id and f.identity_provider_id = identity_providers.id
    and f.removed_at is null)`;

export interface CrossTenantProviderFilter {
  tenantId?: string | undefined;
  providerType?: string | undefined;
  search?: string | undefined;
}

/**
 * Live providers of live tenants in the caller's reach, newest first, with the total: the admin
 * list (crosses tenants on purpose; the reach is the caller's, see the service).
 */
export async function listProvidersAcrossTenants(
  db: Queryable,
  reach: { partnerId?: string; tenantId?: string },
  filter: CrossTenantProviderFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: (ProviderWithCount & { tenant_slug: string })[]; total: number }> {
  let base = db
    .selectFrom('identity_providers')
    .innerJoin('tenants as t', 't.id', 'identity_providers.tenant_id')
    .where('identity_providers.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null);
  if (reach.partnerId) base = base.where('t.partner_id', '=', reach.partnerId);
  if (reach.tenantId) base = base.where('identity_providers.tenant_id', '=', reach.tenantId);
  if (filter.tenantId) base = base.where('identity_providers.tenant_id', '=', filter.tenantId);
  if (filter.providerType)
    base = base.where('identity_providers.provider_type', '=', filter.providerType as never);
  if (filter.search) {
    const term = likeContains(filter.search);
    base = base.where((eb) =>
      eb.or([
        eb('identity_providers.name', 'ilike', term),
        eb('identity_providers.button_label', 'ilike', term),
      ]),
    );
  }
  const [rows, total] = await Promise.all([
    base
      .selectAll('identity_providers')
      .select(usersCount.as('users_count'))
      .select('t.slug as tenant_slug')
      .orderBy('identity_providers.created_at', 'desc')
      .orderBy('identity_providers.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as (ProviderWithCount & { tenant_slug: string })[], total: total.n };
}

/** The tenant of a live provider by its id alone (the admin routes address providers by id). */
export async function tenantOfProvider(db: Queryable, id: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('identity_providers')
    .innerJoin('tenants as t', 't.id', 'identity_providers.tenant_id')
    .select('identity_providers.tenant_id')
    .where('identity_providers.id', '=', id)
    .where('identity_providers.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .executeTakeFirst();
  return row?.tenant_id;
}

/**
 * Enabled LDAP providers of live tenants with a sync interval whose last run started longer ago
 * than the interval (or that never ran), and none running: the scheduled syncs that are due.
 */
export async function directoriesDueForSync(db: Queryable): Promise<{ tenant_id: string; id: string }[]> {
  return db
    .selectFrom('identity_providers as p')
    .innerJoin('tenants as t', 't.id', 'p.tenant_id')
    .select(['p.tenant_id', 'p.id'])
    .where('p.provider_type', '=', 'LDAP')
    .where('p.status', '=', 'ACTIVE')
    .where('p.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .where(sql<boolean>`coalesce((p.config->>'sync_interval_minutes')::int, 0) > 0`)
    .where(
      sql<boolean>`not exists (select 1 from ldap_sync_runs r
        where r.tenant_id = p.tenant_id and r.identity_provider_id = p.id
          and (r.status = 'RUNNING'
            or r.started_at > now() - make_interval(mins => (p.config->>'sync_interval_minutes')::int)))`,
    )
    .orderBy('p.tenant_id')
    .orderBy('p.id')
    .execute();
}

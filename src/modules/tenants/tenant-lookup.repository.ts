import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { createTenantsRepository } from './tenants.repository.js';

/**
 * What the protocols (src/protocols/) need of the tenants: a tenant by the slug in a URL, and the
 * tenants that claim an email domain (home-realm discovery). Cross-tenant on purpose: the slug or
 * the domain is what picks the tenant.
 */

/** A live (not deleted) tenant by slug, whatever its status. */
export async function findLiveTenantBySlug(db: Queryable, slug: string): Promise<TenantRow | undefined> {
  return createTenantsRepository(db).findLiveBySlug(slug);
}

/** A live, ACTIVE tenant by slug. */
export async function findActiveTenantBySlug(db: Queryable, slug: string): Promise<TenantRow | null> {
  const tenant = await findLiveTenantBySlug(db, slug);
  return tenant?.status === 'ACTIVE' ? tenant : null;
}

/** Slugs of up to `limit` ACTIVE tenants listing `domain` in settings.email_domains. */
export async function tenantSlugsForEmailDomain(
  db: Queryable,
  domain: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('tenants')
    .select('slug')
    .where('deleted_at', 'is', null)
    .where('status', '=', 'ACTIVE')
    .where(sql<boolean>`settings->'email_domains' @> ${JSON.stringify([domain])}::jsonb`)
    .limit(limit)
    .execute();
  return rows.map((row) => row.slug);
}

import { type Kysely, sql } from 'kysely';
import { isId } from '../../lib/ids.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Queryable } from '../../platform/db/database.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import type { Database, IdentitySource, UserRow, UserStatus } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { createUsersRepository, type UserWithOu, userSearch } from './users.repository.js';

/**
 * Reads (and the one write) of the users module that cross tenants on purpose: the admin API
 * addresses a user by id alone and lists users across the tenants the caller may see
 * (docs/adr/0009-module-map.md; conventions: `*.cross-tenant.ts`). Everything else goes through
 * tenant-bound handles.
 */

const findLiveUserById = preparedQuery(1, (db, id: string) =>
  db.selectFrom('users').selectAll().where('deleted_at', 'is', null).where('id', '=', id),
);

/**
 * A live user row by the user's id alone, whatever its tenant: the same row as the tenant-bound
 * `findLiveRow` (users.repository.ts), so that both can fill the row cache's `user:<id>` entry.
 * Undefined for a malformed id or an unknown or deleted user. Whether the user's tenant is live,
 * and the caller may see it, is the caller's check (request.scopeForTenant).
 */
export async function findLiveUserAcrossTenants(db: Queryable, userId: string): Promise<UserRow | undefined> {
  if (!isId('user', userId)) return undefined;
  return (await findLiveUserById(db, userId))[0] as UserRow | undefined;
}

export interface CrossTenantUserFilter {
  tenantId?: string | undefined;
  partnerId?: string | undefined;
  status?: UserStatus | undefined;
  search?: string | undefined;
}

/** Live users of live tenants within the caller's reach, newest first: a page and the total. */
export async function listUsersAcrossTenants(
  db: Queryable,
  rights: AdminRights,
  filter: CrossTenantUserFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: UserWithOu[]; total: number }> {
  let base = db
    .selectFrom('users as u')
    .innerJoin('tenants as t', 't.id', 'u.tenant_id')
    .where('u.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null);
  if (rights.level === 'partner_admin') base = base.where('t.partner_id', '=', rights.partnerId ?? '');
  if (rights.level === 'tenant_admin') base = base.where('t.id', '=', rights.tenantId ?? '');
  if (filter.tenantId) base = base.where('u.tenant_id', '=', filter.tenantId);
  if (filter.partnerId) base = base.where('t.partner_id', '=', filter.partnerId);
  if (filter.status) base = base.where('u.status', '=', filter.status);
  if (filter.search) base = base.where((eb) => userSearch(eb as never, filter.search as string));
  const [rows, counted] = await Promise.all([
    base
      .leftJoin('ous as o', (join) =>
        join.onRef('o.tenant_id', '=', 'u.tenant_id').onRef('o.id', '=', 'u.ou_id'),
      )
      .selectAll('u')
      .select('o.path as ou_path')
      .orderBy('u.created_at', 'desc')
      .orderBy('u.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows: rows as UserWithOu[], total: counted.n };
}

export interface IdentitySourceMismatchRow {
  user_id: string;
  tenant_id: string;
  email: string;
  identity_source: IdentitySource;
  partner_id: string;
  /** The distinct provider types the user is linked to, sorted. */
  types: string[];
  provider_ids: string[];
}

/**
 * Live users (of live tenants within the caller's reach, of `tenantId` if given) linked (a link a
 * sync has not ended) to a live identity provider of another type than their identity_source; by
 * tenant, then email.
 */
export async function identitySourceMismatchRows(
  db: Queryable,
  rights: AdminRights,
  tenantId: string | null,
): Promise<IdentitySourceMismatchRow[]> {
  let query = db
    .selectFrom('users as u')
    .innerJoin('tenants as t', 't.id', 'u.tenant_id')
    .innerJoin('federated_identities as f', (join) =>
      join.onRef('f.tenant_id', '=', 'u.tenant_id').onRef('f.user_id', '=', 'u.id'),
    )
    .innerJoin('identity_providers as p', (join) =>
      join.onRef('p.tenant_id', '=', 'f.tenant_id').onRef('p.id', '=', 'f.identity_provider_id'),
    )
    .select(['u.id as user_id', 'u.tenant_id', 'u.email', 'u.identity_source', 't.partner_id'])
    .select(sql<string[]>`array_agg(distinct p.provider_type order by p.provider_type)`.as('types'))
    .select(sql<string[]>`array_agg(distinct p.id order by p.id)`.as('provider_ids'))
    .where('u.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .where('p.deleted_at', 'is', null)
    .where('f.removed_at', 'is', null)
    .groupBy(['u.id', 'u.tenant_id', 'u.email', 'u.identity_source', 't.partner_id'])
    .having(sql<boolean>`bool_or(p.provider_type <> u.identity_source)`)
    .orderBy('u.tenant_id')
    .orderBy('u.email');
  if (tenantId) query = query.where('u.tenant_id', '=', tenantId);
  if (rights.level === 'partner_admin') query = query.where('t.partner_id', '=', rights.partnerId ?? '');
  if (rights.level === 'tenant_admin') query = query.where('t.id', '=', rights.tenantId ?? '');
  return query.execute();
}

/** Sets a user's identity_source in its tenant (the mismatch fix, which spans tenants). */
export async function setIdentitySource(
  trx: Queryable,
  tenantId: string,
  userId: string,
  source: UserRow['identity_source'],
): Promise<void> {
  await createUsersRepository(bindTenant(trx as Kysely<Database>, tenantId)).update(userId, {
    identity_source: source,
  });
}

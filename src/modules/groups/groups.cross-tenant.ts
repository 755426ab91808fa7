import { sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Queryable } from '../../platform/db/database.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import { GROUP_ROW_COLUMNS, type GroupListRow, type GroupRow, liveMemberCount } from './groups.repository.js';
import type { GroupType } from './groups.schemas.js';

export interface AdminGroupListFilter {
  search?: string | null;
  groupType?: GroupType | null;
  tenantId?: string | null;
  partnerId?: string | null;
  /** Visibility: only this partner's tenants / only this tenant. */
  onlyPartnerId?: string | null;
  onlyTenantId?: string | null;
}

/**
 * A live group by id alone, whatever its tenant: the same columns as the tenant-bound `find`
 * (groups.repository.ts), so that both can fill the row cache's `group:<id>` entry.
 */
const findLiveGroupById = preparedQuery(1, (db, id: string) =>
  db
    .selectFrom('groups as g')
    .select(GROUP_ROW_COLUMNS)
    .where('g.deleted_at', 'is', null)
    .where('g.id', '=', id),
);

/**
 * Groups across tenants, on purpose (ADR 0010): the admin list over every tenant the caller may
 * see (visibility is the caller's filter), and the lookup that finds the tenant of a group the
 * admin API addresses by id.
 */
export function createGroupsCrossTenant(db: Queryable) {
  function filtered(filter: AdminGroupListFilter) {
    let query = db
      .selectFrom('groups as g')
      .innerJoin('tenants as t', 't.id', 'g.tenant_id')
      .where('g.deleted_at', 'is', null)
      .where('t.deleted_at', 'is', null);
    if (filter.search) query = query.where('g.name', 'ilike', likeContains(filter.search));
    if (filter.groupType) query = query.where('g.group_type', '=', filter.groupType);
    if (filter.tenantId) query = query.where('g.tenant_id', '=', filter.tenantId);
    if (filter.partnerId) query = query.where('t.partner_id', '=', filter.partnerId);
    if (filter.onlyPartnerId) query = query.where('t.partner_id', '=', filter.onlyPartnerId);
    if (filter.onlyTenantId) query = query.where('g.tenant_id', '=', filter.onlyTenantId);
    return query;
  }

  return {
    /**
     * The live group `id` of any tenant (whether its tenant is live, and visible to the caller, is
     * the caller's check: request.scopeForTenant).
     */
    async findLive(id: string): Promise<GroupRow | undefined> {
      return (await findLiveGroupById(db, id))[0] as GroupRow | undefined;
    },

    async list(filter: AdminGroupListFilter, limit: number, offset: number): Promise<GroupListRow[]> {
      return (await filtered(filter)
        .select(['g.id', 'g.tenant_id', 'g.name', 'g.group_type', 'g.parent_group_id'])
        .select(liveMemberCount('direct_count', sql`g.tenant_id`, sql`g.id`).as('member_count'))
        .orderBy(sql`lower(g.name)`)
        .orderBy('g.tenant_id')
        .orderBy('g.id')
        .limit(limit)
        .offset(offset)
        .execute()) as GroupListRow[];
    },

    async count(filter: AdminGroupListFilter): Promise<number> {
      const row = await filtered(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return row.n;
    },
  };
}

import { sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Queryable } from '../../platform/db/database.js';
import { type GroupListRow, liveMemberCount } from './groups.repository.js';
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
    /** The tenant of the live group `id` (of a live tenant). */
    async tenantOf(id: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('groups as g')
        .innerJoin('tenants as t', 't.id', 'g.tenant_id')
        .select('g.tenant_id')
        .where('g.id', '=', id)
        .where('g.deleted_at', 'is', null)
        .where('t.deleted_at', 'is', null)
        .executeTakeFirst();
      return row?.tenant_id;
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

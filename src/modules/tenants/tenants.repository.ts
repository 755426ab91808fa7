import { sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Queryable } from '../../platform/db/database.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import type { TenantRow, TenantUpdate } from '../../platform/db/schema.js';

export type TenantWithCounts = TenantRow & { user_count: number; group_count: number; ou_count: number };

export interface TenantFilter {
  search?: string | null;
  status?: string | null;
  partnerId?: string | null;
  /** Visibility: only this partner's tenants / only this tenant. */
  onlyPartnerId?: string | null;
  onlyTenantId?: string | null;
}

/** Tenants with their live user, group and OU counts (kept by triggers in tenant_counts, 0006). */
function withCounts(db: Queryable) {
  return db
    .selectFrom('tenants as t')
    .selectAll('t')
    .select((eb) => {
      const total = (column: 'users' | 'groups' | 'ous') =>
        eb
          .selectFrom('tenant_counts as c')
          .select(sql<number>`coalesce(sum(${sql.ref(`c.${column}`)}), 0)::int`.as('n'))
          .whereRef('c.tenant_id', '=', 't.id');
      return [
        total('users').as('user_count'),
        total('groups').as('group_count'),
        total('ous').as('ou_count'),
      ];
    })
    .where('t.deleted_at', 'is', null);
}

// The read behind GET /admin/tenants/{id}, the bench's read-by-id scenario: built once.
const findLiveWithCounts = preparedQuery(1, (db, id: string) => withCounts(db).where('t.id', '=', id));

// Behind every tenant-scoped route (tenant-access.ts): built once.
const findLiveRow = preparedQuery(1, (db, id: string) =>
  db.selectFrom('tenants').selectAll().where('id', '=', id).where('deleted_at', 'is', null),
);

export function createTenantsRepository(db: Queryable) {
  function filtered(filter: TenantFilter) {
    let query = db.selectFrom('tenants as t').where('t.deleted_at', 'is', null);
    if (filter.search) {
      const pattern = likeContains(filter.search);
      query = query.where((eb) => eb.or([eb('t.name', 'ilike', pattern), eb('t.slug', 'ilike', pattern)]));
    }
    if (filter.status) query = query.where('t.status', '=', filter.status as TenantRow['status']);
    if (filter.partnerId) query = query.where('t.partner_id', '=', filter.partnerId);
    if (filter.onlyPartnerId) query = query.where('t.partner_id', '=', filter.onlyPartnerId);
    if (filter.onlyTenantId) query = query.where('t.id', '=', filter.onlyTenantId);
    return query;
  }

  return {
    async findLive(id: string): Promise<TenantWithCounts | undefined> {
      return (await findLiveWithCounts(db, id))[0] as TenantWithCounts | undefined;
    },

    async findLiveBySlug(slug: string): Promise<TenantRow | undefined> {
      return db
        .selectFrom('tenants')
        .selectAll()
        .where('slug', '=', slug)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
    },

    /** A live tenant row by id, without counts (the cheap lookup behind every tenant route). */
    async findLiveRow(id: string): Promise<TenantRow | undefined> {
      return (await findLiveRow(db, id))[0];
    },

    async lockLive(id: string): Promise<TenantRow | undefined> {
      return db
        .selectFrom('tenants')
        .selectAll()
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
    },

    async list(filter: TenantFilter, limit: number, offset: number): Promise<TenantWithCounts[]> {
      const ids = filtered(filter)
        .select('t.id')
        .orderBy('t.created_at', 'asc')
        .orderBy('t.id', 'asc')
        .limit(limit)
        .offset(offset);
      return (await withCounts(db)
        .where('t.id', 'in', ids)
        .orderBy('t.created_at', 'asc')
        .orderBy('t.id', 'asc')
        .execute()) as TenantWithCounts[];
    },

    async count(filter: TenantFilter): Promise<number> {
      const row = await filtered(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return row.n;
    },

    async countLiveInPartner(partnerId: string): Promise<number> {
      const row = await filtered({ partnerId })
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      return row.n;
    },

    async slugTaken(slug: string): Promise<boolean> {
      return !!(await this.findLiveBySlug(slug));
    },

    async insert(row: {
      id: string;
      partner_id: string;
      name: string;
      slug: string;
      status: 'ACTIVE' | 'SUSPENDED';
      contact_email: string | null;
      settings: Record<string, unknown>;
      branding: Record<string, unknown>;
      is_platform?: boolean;
    }): Promise<void> {
      await db
        .insertInto('tenants')
        .values({ ...row, settings: JSON.stringify(row.settings), branding: JSON.stringify(row.branding) })
        .execute();
    },

    async update(id: string, changes: TenantUpdate): Promise<void> {
      await db
        .updateTable('tenants')
        .set({ ...changes, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .execute();
    },

    async softDelete(id: string): Promise<void> {
      await db.updateTable('tenants').set({ deleted_at: sql<Date>`now()` }).where('id', '=', id).execute();
    },
  };
}

import { sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import type { Queryable } from '../../platform/db/database.js';
import type { PartnerRow, PartnerUpdate } from '../../platform/db/schema.js';

export type PartnerWithCount = PartnerRow & { tenant_count: number };

function withTenantCount(db: Queryable) {
  return db
    .selectFrom('partners as p')
    .selectAll('p')
    .select((eb) =>
      eb
        .selectFrom('tenants as t')
        .select(sql<number>`count(*)::int`.as('n'))
        .whereRef('t.partner_id', '=', 'p.id')
        .where('t.deleted_at', 'is', null)
        .as('tenant_count'),
    )
    .where('p.deleted_at', 'is', null);
}

export interface PartnerFilter {
  search?: string | null;
  status?: string | null;
}

export function createPartnersRepository(db: Queryable) {
  function filtered(filter: PartnerFilter) {
    let query = db.selectFrom('partners as p').where('p.deleted_at', 'is', null);
    if (filter.search) {
      const pattern = likeContains(filter.search);
      query = query.where((eb) => eb.or([eb('p.name', 'ilike', pattern), eb('p.slug', 'ilike', pattern)]));
    }
    if (filter.status) query = query.where('p.status', '=', filter.status as PartnerRow['status']);
    return query;
  }

  return {
    async findLive(id: string): Promise<PartnerWithCount | undefined> {
      return (await withTenantCount(db).where('p.id', '=', id).executeTakeFirst()) as
        | PartnerWithCount
        | undefined;
    },

    async findById(id: string): Promise<PartnerRow | undefined> {
      return db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** Locks a live partner row until the transaction ends (limits are checked under this lock). */
    async lockLive(id: string): Promise<PartnerRow | undefined> {
      return db
        .selectFrom('partners')
        .selectAll()
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
    },

    async findPlatform(): Promise<PartnerRow | undefined> {
      return db.selectFrom('partners').selectAll().where('is_platform', '=', true).executeTakeFirst();
    },

    async list(filter: PartnerFilter, limit: number, offset: number): Promise<PartnerWithCount[]> {
      const ids = filtered(filter).select('p.id');
      return (await withTenantCount(db)
        .where('p.id', 'in', ids)
        .orderBy('p.created_at', 'asc')
        .orderBy('p.id', 'asc')
        .limit(limit)
        .offset(offset)
        .execute()) as PartnerWithCount[];
    },

    async count(filter: PartnerFilter): Promise<number> {
      const row = await filtered(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return row.n;
    },

    async slugTaken(slug: string): Promise<boolean> {
      return !!(await db
        .selectFrom('partners')
        .select('id')
        .where('slug', '=', slug)
        .where('deleted_at', 'is', null)
        .executeTakeFirst());
    },

    async insert(row: {
      id: string;
      name: string;
      slug: string;
      status: 'ACTIVE' | 'SUSPENDED';
      contact_email: string | null;
      max_tenants: number | null;
      max_users_per_tenant: number | null;
      max_applications_per_tenant: number | null;
      is_platform?: boolean;
    }): Promise<void> {
      await db.insertInto('partners').values(row).execute();
    },

    async update(id: string, changes: PartnerUpdate): Promise<void> {
      await db
        .updateTable('partners')
        .set({ ...changes, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .execute();
    },

    async softDelete(id: string): Promise<void> {
      await db.updateTable('partners').set({ deleted_at: sql<Date>`now()` }).where('id', '=', id).execute();
    },

    async liveTenantCount(id: string): Promise<number> {
      const row = await db
        .selectFrom('tenants')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('partner_id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow();
      return row.n;
    },
  };
}

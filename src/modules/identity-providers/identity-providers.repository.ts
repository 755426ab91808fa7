import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { IdentityProvidersTable } from '../../platform/db/schema.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';

export type ProviderRow = Selectable<IdentityProvidersTable>;
export type ProviderWithCount = ProviderRow & { users_count: number };

const usersCount = sql<number>`(select count(*)::int from federated_identities f
  where f.tenant_id = identity_providers.tenant_id and f.identity_provider_id = identity_providers.id
    and f.removed_at is null)`;

/** The identity providers of one tenant (tenant-bound handle). */
export function createProvidersRepository(db: TenantQueryable) {
  return {
    async find(id: string): Promise<ProviderWithCount | undefined> {
      return db
        .selectFrom('identity_providers')
        .selectAll()
        .select(usersCount.as('users_count'))
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
    },
    async lock(id: string): Promise<ProviderRow | undefined> {
      return db
        .selectFrom('identity_providers')
        .selectAll()
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
    },
    /** The live providers of the tenant, oldest first (sign-in page, home-realm discovery). */
    async live(): Promise<ProviderRow[]> {
      return db
        .selectFrom('identity_providers')
        .selectAll()
        .where('deleted_at', 'is', null)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },
    async insert(row: Omit<ProviderRow, 'created_at' | 'updated_at' | 'deleted_at' | 'tenant_id'>) {
      await db
        .insertInto('identity_providers')
        .values({
          ...row,
          config: JSON.stringify(row.config),
          email_domains: JSON.stringify(row.email_domains),
          attribute_mapping: JSON.stringify(row.attribute_mapping),
          group_mapping: JSON.stringify(row.group_mapping),
        } as never)
        .execute();
    },
    async update(id: string, changes: Partial<ProviderRow>) {
      const values: Record<string, unknown> = { ...changes, updated_at: sql`now()` };
      for (const key of ['config', 'email_domains', 'attribute_mapping', 'group_mapping']) {
        if (key in values) values[key] = JSON.stringify(values[key]);
      }
      await db
        .updateTable('identity_providers')
        .set(values as never)
        .where('id', '=', id)
        .execute();
    },
    async softDelete(id: string) {
      await db
        .updateTable('identity_providers')
        .set({ deleted_at: sql`now()`, status: 'DISABLED', updated_at: sql`now()` } as never)
        .where('id', '=', id)
        .execute();
    },
    async ouExists(ouId: string): Promise<boolean> {
      const row = await db.selectFrom('ous').select('id').where('id', '=', ouId).executeTakeFirst();
      return !!row;
    },
    async groupExists(groupId: string): Promise<boolean> {
      const row = await db
        .selectFrom('groups')
        .select('id')
        .where('id', '=', groupId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return !!row;
    },
    async syncRuns(providerId: string, page: { limit: number; offset: number }) {
      const base = db.selectFrom('ldap_sync_runs').where('identity_provider_id', '=', providerId);
      const [rows, total] = await Promise.all([
        base
          .selectAll()
          .orderBy('started_at', 'desc')
          .orderBy('id', 'desc')
          .limit(page.limit)
          .offset(page.offset)
          .execute(),
        base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
      ]);
      return { rows, total: total.n };
    },
  };
}

import { sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import { jsonColumnValue } from '../../platform/db/json.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

export interface OURow {
  id: string;
  parent_id: string | null;
  name: string;
  description: string | null;
  path: string;
  depth: number;
  custom_attributes: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date | null;
}

/** LIKE pattern matching every path strictly below `path` (names may contain % or _). */
export function descendantsPattern(path: string): string {
  return `${path.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`;
}

/**
 * Ids of the OU at `path` and everything below it, as a subquery. Its tenant predicate is written
 * out: a subquery is compiled by the statement it is placed in (an OU's users are listed by the
 * users module), whose handle may not be this one.
 */
function subtreeIdsQuery(db: TenantQueryable, path: string) {
  return db
    .selectFrom('ous')
    .select('id')
    .where('tenant_id', '=', boundTenantId(db))
    .where((eb) => eb.or([eb('path', '=', path), eb('path', 'like', descendantsPattern(path))]));
}
type SubtreeIds = ReturnType<typeof subtreeIdsQuery>;

/**
 * Kysely access to the OUs of one tenant, on a tenant-bound handle (platform/db/tenant-scope.ts):
 * the handle adds the tenant predicate to every builder statement; raw SQL writes it itself.
 */
export function createOusRepository(db: TenantQueryable) {
  const tenantId = boundTenantId(db);
  return {
    /** Serializes structural OU changes in this tenant (moves, deletes, creates) until the transaction ends. */
    async lockTree(): Promise<void> {
      await sql`select pg_advisory_xact_lock(hashtext(${`ous:${tenantId}`}))`.execute(db);
    },

    async find(id: string): Promise<OURow | undefined> {
      return db.selectFrom('ous').selectAll().where('id', '=', id).executeTakeFirst() as Promise<
        OURow | undefined
      >;
    },

    async directUserCount(id: string): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('ou_id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirstOrThrow();
      return row.n;
    },

    async children(parentId: string) {
      return db
        .selectFrom('ous as o')
        .select(['o.id', 'o.name', 'o.path'])
        .select((eb) =>
          eb
            .selectFrom('users as u')
            .select(sql<number>`count(*)::int`.as('n'))
            .whereRef('u.ou_id', '=', 'o.id')
            .where('u.deleted_at', 'is', null)
            .as('user_count'),
        )
        .where('o.parent_id', '=', parentId)
        .orderBy(sql`lower(o.name)`)
        .orderBy('o.name')
        .execute() as Promise<{ id: string; name: string; path: string; user_count: number }[]>;
    },

    async list(filter: { search?: string | null; parentId?: string | null }, limit: number, offset: number) {
      let query = db
        .selectFrom('ous as o')
        .select(['o.id', 'o.name', 'o.path', 'o.parent_id'])
        .select((eb) =>
          eb
            .selectFrom('users as u')
            .select(sql<number>`count(*)::int`.as('n'))
            .whereRef('u.ou_id', '=', 'o.id')
            .where('u.deleted_at', 'is', null)
            .as('user_count'),
        );
      if (filter.search) query = query.where('o.name', 'ilike', likeContains(filter.search));
      if (filter.parentId) query = query.where('o.parent_id', '=', filter.parentId);
      return query.orderBy('o.path').orderBy('o.id').limit(limit).offset(offset).execute() as Promise<
        { id: string; name: string; path: string; parent_id: string | null; user_count: number }[]
      >;
    },

    async count(filter: { search?: string | null; parentId?: string | null }): Promise<number> {
      let query = db.selectFrom('ous as o').select(sql<number>`count(*)::int`.as('n'));
      if (filter.search) query = query.where('o.name', 'ilike', likeContains(filter.search));
      if (filter.parentId) query = query.where('o.parent_id', '=', filter.parentId);
      return (await query.executeTakeFirstOrThrow()).n;
    },

    async all(): Promise<{ id: string; parent_id: string | null; name: string; path: string }[]> {
      return db
        .selectFrom('ous')
        .select(['id', 'parent_id', 'name', 'path'])
        .orderBy(sql`lower(name)`)
        .orderBy('name')
        .orderBy('id')
        .execute();
    },

    async insert(row: {
      id: string;
      parent_id: string | null;
      name: string;
      description: string | null;
      path: string;
      depth: number;
      custom_attributes: Record<string, unknown> | null;
    }): Promise<void> {
      await db
        .insertInto('ous')
        .values({
          ...row,
          // The handle's own tenant (it checks the value): the column is required by the types.
          tenant_id: tenantId,
          custom_attributes:
            row.custom_attributes === null ? undefined : JSON.stringify(row.custom_attributes),
        })
        .execute();
    },

    async updateFields(
      id: string,
      fields: {
        name?: string;
        description?: string | null;
        custom_attributes?: Record<string, unknown> | null;
        parent_id?: string | null;
      },
    ): Promise<void> {
      const { custom_attributes, ...rest } = fields;
      await db
        .updateTable('ous')
        .set({
          ...rest,
          ...(custom_attributes !== undefined
            ? { custom_attributes: jsonColumnValue(custom_attributes) }
            : {}),
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
    },

    /**
     * Rewrites the path prefix `oldPath` to `newPath` for the OU at `oldPath` and its whole
     * subtree, shifting depths by `depthDelta`: one statement, served by the path index.
     */
    async rewriteSubtreePaths(oldPath: string, newPath: string, depthDelta: number): Promise<number> {
      const result = await db
        .updateTable('ous')
        .set({
          path: sql<string>`${newPath} || substr(path, ${oldPath.length + 1})`,
          depth: sql<number>`depth + ${depthDelta}`,
        })
        .where((eb) => eb.or([eb('path', '=', oldPath), eb('path', 'like', descendantsPattern(oldPath))]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Ids of the OU at `path` and everything below it. */
    subtreeIds(path: string): SubtreeIds {
      return subtreeIdsQuery(db, path);
    },

    async hasChildren(id: string): Promise<boolean> {
      return !!(await db
        .selectFrom('ous')
        .select('id')
        .where('parent_id', '=', id)
        .limit(1)
        .executeTakeFirst());
    },

    async directChildIds(id: string): Promise<{ id: string; name: string; path: string }[]> {
      return db.selectFrom('ous').select(['id', 'name', 'path']).where('parent_id', '=', id).execute();
    },

    /** Moves every user row (deleted ones too: they keep referencing an OU) from `fromIds` to `toId`. */
    async moveUsers(fromIds: string[] | SubtreeIds, toId: string | null): Promise<number> {
      const result = await db
        .updateTable('users')
        .set({ ou_id: toId, updated_at: sql<Date>`now()` })
        .where('ou_id', 'in', fromIds)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async setParent(ids: string[], parentId: string | null): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable('ous')
        .set({ parent_id: parentId, updated_at: sql<Date>`now()` })
        .where('id', 'in', ids)
        .execute();
    },

    async deleteIds(ids: string[] | SubtreeIds): Promise<number> {
      const result = await db.deleteFrom('ous').where('id', 'in', ids).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

import { type ExpressionBuilder, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import { likeContains } from '../../lib/pagination.js';
import { jsonColumnValue } from '../../platform/db/json.js';
import { preparedQuery } from '../../platform/db/prepared.js';
import type { Database, IdentitySource, OuRow, UserRow, UserStatus } from '../../platform/db/schema.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';
import { usersInGroupSubquery } from '../groups/index.js';

export interface UserListRow {
  id: string;
  email: string;
  display_name: string | null;
  status: UserStatus;
  ou_path: string | null;
  identity_source: IdentitySource;
  mfa_enabled: boolean;
  last_login_at: Date | null;
  created_at: Date;
}

export type UserWithOu = UserRow & { ou_path: string | null };

/** The columns a new user row is given (the others take their defaults). */
export type NewUserRow = Pick<
  UserRow,
  | 'id'
  | 'email'
  | 'username'
  | 'first_name'
  | 'last_name'
  | 'display_name'
  | 'phone'
  | 'locale'
  | 'timezone'
  | 'password_hash'
  | 'password_changed_at'
  | 'require_password_change'
  | 'status'
  | 'ou_id'
  | 'custom_attributes'
>;

/**
 * What the checked insert answers: the new user with its OU path (`id` null when nothing was
 * inserted), whether the OU was found, the partner's limit and whether the tenant is under it
 * (null when the statement did not count).
 */
export type CheckedInsert = (UserWithOu | { [K in keyof UserWithOu]: null }) & {
  ou_found: boolean;
  max_users: number | null;
  under_limit: boolean | null;
};

type UsersQuery = SelectQueryBuilder<Database & { u: Database['users'] }, 'u', object>;

export interface UserListFilter {
  search?: string | null;
  status?: UserStatus | null;
  ouId?: string | null;
  groupId?: string | null;
  mfaEnabled?: boolean | null;
}

export type UserSortField = 'email' | 'display_name' | 'created_at' | 'last_login_at' | 'status';
export interface UserSort {
  by: UserSortField;
  order: 'asc' | 'desc';
}
/** Where a keyset page starts: after the row with this sort value and id. */
export interface UserKeyset {
  value: string | null;
  id: string;
}

const SORT_COLUMNS = {
  email: 'u.email',
  display_name: 'u.display_name',
  created_at: 'u.created_at',
  last_login_at: 'u.last_login_at',
  status: 'u.status',
} as const;

/** Case-insensitive substring search over email, username and the names (docs/api-contract.md). */
export function userSearch(eb: ExpressionBuilder<Database & { u: Database['users'] }, 'u'>, term: string) {
  const pattern = likeContains(term);
  return eb.or([
    eb('u.email', 'ilike', pattern),
    eb('u.username', 'ilike', pattern),
    eb('u.first_name', 'ilike', pattern),
    eb('u.last_name', 'ilike', pattern),
    eb('u.display_name', 'ilike', pattern),
  ]);
}

/** The user's OU, for `ou_path`. */
function withOu(query: UsersQuery) {
  return query.leftJoin('ous as o', (join) =>
    join.onRef('o.tenant_id', '=', 'u.tenant_id').onRef('o.id', '=', 'u.ou_id'),
  );
}

// The read behind GET .../users/{id} and every route that addresses one user: built once, run on
// tenant-bound handles only (the handle's tenant becomes the statement's parameter, prepared.ts).
const findLiveWithOu = preparedQuery(1, (db, id: string) =>
  withOu(db.selectFrom('users as u') as UsersQuery)
    .selectAll('u')
    .select('o.path as ou_path')
    .where('u.deleted_at', 'is', null)
    .where('u.id', '=', id),
);

// The rows behind the cached read of one user (users.service.ts readUser): the user alone, and
// its OU (for ou_path), each kept in the row cache under its own key.
const findLiveRow = preparedQuery(1, (db, id: string) =>
  db.selectFrom('users').selectAll().where('deleted_at', 'is', null).where('id', '=', id),
);
const findOuRow = preparedQuery(1, (db, id: string) => db.selectFrom('ous').selectAll().where('id', '=', id));

/**
 * Kysely access to the users of one tenant, through a tenant-bound handle: the handle adds the
 * tenant predicate to every statement (platform/db/tenant-scope.ts).
 */
export function createUsersRepository(db: TenantQueryable): UsersRepository {
  return usersRepository(db);
}

function usersRepository(db: TenantQueryable) {
  const live = () => db.selectFrom('users as u').where('u.deleted_at', 'is', null);

  function filtered(filter: UserListFilter): UsersQuery {
    let query = live() as UsersQuery;
    if (filter.search) query = query.where((eb) => userSearch(eb, filter.search as string));
    if (filter.status) query = query.where('u.status', '=', filter.status);
    if (filter.ouId) query = query.where('u.ou_id', '=', filter.ouId);
    if (filter.mfaEnabled !== undefined && filter.mfaEnabled !== null) {
      query = query.where('u.mfa_enabled', '=', filter.mfaEnabled);
    }
    if (filter.groupId) {
      query = query.where(
        'u.id',
        'in',
        usersInGroupSubquery(db, boundTenantId(db), filter.groupId, { effective: false }),
      );
    }
    return query;
  }

  const repository = {
    /** A page of list items (with `ou_path`) of the live users `narrow` keeps, newest first. */
    async listItems(
      narrow: (query: UsersQuery) => UsersQuery,
      limit: number,
      offset: number,
    ): Promise<UserListRow[]> {
      return (await withOu(narrow(live() as UsersQuery))
        .select(['u.id', 'u.email', 'u.display_name', 'u.status', 'o.path as ou_path', 'u.identity_source'])
        .select(['u.mfa_enabled', 'u.last_login_at', 'u.created_at'])
        .orderBy('u.created_at', 'desc')
        .orderBy('u.id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute()) as UserListRow[];
    },

    /** A page of list items of the live users in the OUs `ouIds`, newest first, and how many there are. */
    async count(narrow: (query: UsersQuery) => UsersQuery): Promise<number> {
      const row = await narrow(live() as UsersQuery)
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      return (row as { n: number }).n;
    },

    /**
     * One page of the filtered, sorted list. Ordering is PostgreSQL's default for each direction
     * (nulls after everything ascending, before everything descending) with the id as tie-breaker,
     * so the sort indexes serve it and a keyset continues exactly where a page ended.
     */
    async listPage(
      filter: UserListFilter,
      sort: UserSort,
      page: { limit: number; offset: number; after?: UserKeyset },
    ): Promise<(UserListRow & { sort_key: string | null })[]> {
      const column = SORT_COLUMNS[sort.by];
      let query = filtered(filter);
      const after = page.after;
      if (after) {
        // The sort key travels as PostgreSQL's own text of the value (microsecond timestamps included).
        const value = after.value;
        query = query.where((eb) => {
          const col = eb.ref(column);
          if (sort.order === 'asc') {
            return value === null
              ? eb.and([eb(col, 'is', null), eb('u.id', '>', after.id)])
              : eb.or([
                  eb(col, '>', value),
                  eb.and([eb(col, '=', value), eb('u.id', '>', after.id)]),
                  eb(col, 'is', null),
                ]);
          }
          return value === null
            ? eb.or([eb.and([eb(col, 'is', null), eb('u.id', '<', after.id)]), eb(col, 'is not', null)])
            : eb.or([eb(col, '<', value), eb.and([eb(col, '=', value), eb('u.id', '<', after.id)])]);
        });
      }
      return (await withOu(query)
        .select(['u.id', 'u.email', 'u.display_name', 'u.status', 'o.path as ou_path', 'u.identity_source'])
        .select(['u.mfa_enabled', 'u.last_login_at', 'u.created_at'])
        .select(sql<string | null>`${sql.ref(column)}::text`.as('sort_key'))
        .orderBy(column, sort.order)
        .orderBy('u.id', sort.order)
        .limit(page.limit)
        .offset(after ? 0 : page.offset)
        .execute()) as (UserListRow & { sort_key: string | null })[];
    },

    async countFiltered(filter: UserListFilter): Promise<number> {
      const row = await filtered(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return (row as { n: number }).n;
    },

    async findLive(id: string): Promise<UserWithOu | undefined> {
      return (await findLiveWithOu(db, id))[0] as UserWithOu | undefined;
    },

    /** The live user row alone (no OU path): what the row cache keeps. */
    async findLiveRow(id: string): Promise<UserRow | undefined> {
      return (await findLiveRow(db, id))[0];
    },

    /** The OU row `id` of the tenant (its path is a user's ou_path). */
    async findOuRow(id: string): Promise<OuRow | undefined> {
      return (await findOuRow(db, id))[0];
    },

    async lockLive(id: string): Promise<UserRow | undefined> {
      return db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
    },

    /** A live user by email address, whatever its case (sign-in and password reset requests). */
    async findLiveByEmail(email: string): Promise<UserRow | undefined> {
      return db
        .selectFrom('users')
        .selectAll()
        .where(sql`lower(email)`, '=', email.trim().toLowerCase())
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
    },

    async liveCount(): Promise<number> {
      const row = await (live() as UsersQuery)
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      return (row as { n: number }).n;
    },

    /** Live user ids among `ids` (to check references such as group members). */
    async existingIds(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      return (await (live() as UsersQuery).select('u.id').where('u.id', 'in', ids).execute()).map(
        (row) => row.id,
      );
    },

    async insert(row: NewUserRow): Promise<void> {
      const { custom_attributes, ...rest } = row;
      await db
        .insertInto('users')
        .values({
          ...rest,
          // Filled here for the column's type; the bound handle checks it is its tenant.
          tenant_id: boundTenantId(db),
          status_reason: null,
          avatar_url: null,
          locked_until: null,
          last_login_at: null,
          ...(custom_attributes !== null ? { custom_attributes: JSON.stringify(custom_attributes) } : {}),
        })
        .execute();
    },

    async update(id: string, changes: Record<string, unknown>): Promise<void> {
      const { custom_attributes, password_history, ...rest } = changes;
      await db
        .updateTable('users')
        .set({
          ...rest,
          ...(custom_attributes !== undefined
            ? { custom_attributes: jsonColumnValue(custom_attributes) }
            : {}),
          ...(password_history !== undefined ? { password_history: JSON.stringify(password_history) } : {}),
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
    },

    /**
     * Soft delete: the row stays for audit; open links go, the email is free again. Group
     * memberships and application assignments are ended by the caller through those modules.
     */
    async softDelete(id: string): Promise<void> {
      await db
        .updateTable('user_action_tokens')
        .set({ used_at: sql<Date>`now()` })
        .where('user_id', '=', id)
        .where('used_at', 'is', null)
        .execute();
      await db
        .updateTable('users')
        .set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .execute();
    },

    async directGroupIds(userId: string): Promise<string[]> {
      return (
        await db.selectFrom('group_memberships').select('group_id').where('user_id', '=', userId).execute()
      ).map((row) => row.group_id);
    },

    async liveGroupIds(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      return (
        await db
          .selectFrom('groups')
          .select('id')
          .where('id', 'in', ids)
          .where('deleted_at', 'is', null)
          .execute()
      ).map((row) => row.id);
    },

    /**
     * Issue 17: the user insert with its checks folded in, as the CTEs and final select of one
     * statement (no read-back): the row is inserted only when its OU (if any) is the tenant's and
     * the partner sets no user limit, or, with `countLive` (after `lockUserLimit` in the same
     * transaction, so that the count sees every create committed before the lock), when the
     * tenant's live users are fewer than the limit. The answer says which check failed.
     */
    checkedInsert(row: NewUserRow, partnerId: string, countLive: boolean) {
      const tenantId = boundTenantId(db);
      const under = countLive
        ? sql`(select count(*) from users where tenant_id = ${tenantId} and deleted_at is null) < (select max from lim)`
        : sql`null::boolean`;
      const ctes = [
        sql`lim as (select max_users_per_tenant as max from partners where id = ${partnerId})`,
        sql`checks as (select (select max from lim) as max_users, (${row.ou_id}::text is null or exists (select 1 from ous where tenant_id = ${tenantId} and id = ${row.ou_id}::text)) as ou_found, ${under} as under_limit)`,
        sql`created as (insert into users (tenant_id, id, email, username, first_name, last_name, display_name, phone, locale, timezone, password_hash, password_changed_at, require_password_change, status, ou_id, custom_attributes) select ${tenantId}, ${row.id}, ${row.email}, ${row.username}, ${row.first_name}, ${row.last_name}, ${row.display_name}, ${row.phone}, ${row.locale}, ${row.timezone}, ${row.password_hash}, ${row.password_changed_at}, ${row.require_password_change}, ${row.status}, ${row.ou_id}, ${
          row.custom_attributes === null ? null : JSON.stringify(row.custom_attributes)
        }::jsonb from checks where checks.ou_found and (checks.max_users is null or checks.under_limit) returning *)`,
      ];
      const select = sql<CheckedInsert>`select created.*, o.path as ou_path, checks.ou_found, checks.max_users, checks.under_limit from checks left join created on true left join ous o on o.tenant_id = created.tenant_id and o.id = created.ou_id`;
      return { ctes, select, source: 'created' };
    },

    /** Runs a statement of CTEs and a final select (such as `checkedInsert`) in this handle's transaction. */
    async runStatement<Row>(statement: {
      ctes: RawBuilder<unknown>[];
      select: RawBuilder<Row>;
    }): Promise<Row> {
      const answer = await sql<Row>`with ${sql.join(statement.ctes)} ${statement.select}`.execute(db);
      return answer.rows[0] as Row;
    },

    async ouExists(ouId: string): Promise<boolean> {
      return !!(await db.selectFrom('ous').select('id').where('id', '=', ouId).executeTakeFirst());
    },
  };
  return repository;
}

export type UsersRepository = ReturnType<typeof usersRepository>;

import { type Expression, sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { rowKey } from '../../platform/row-cache.js';
import { createUsersRepository } from './users.repository.js';

/**
 * What the sign-in flow and the OAuth protocol (src/protocols/) need of a tenant's accounts:
 * look-ups by email or id, the lockout counters (their policy is the sign-in steps'; the
 * statements are here, where the users table is owned), and the changes a sign-in makes.
 */

/** A live user of the tenant by email address, whatever its case. */
export function findAccountByEmail(
  db: Queryable,
  tenantId: string,
  email: string,
): Promise<UserRow | undefined> {
  return createUsersRepository(bindTenant(db, tenantId)).findLiveByEmail(email);
}

/** A live user of the tenant by id. */
export function findAccount(db: Queryable, tenantId: string, userId: string): Promise<UserRow | undefined> {
  return createUsersRepository(bindTenant(db, tenantId)).findLive(userId);
}

/** A live, ACTIVE user of the tenant by id (the subject of a user access token). */
export function findActiveAccount(
  db: Queryable,
  tenantId: string,
  userId: string,
): Promise<UserRow | undefined> {
  return activeAccountQuery(db, tenantId, userId).executeTakeFirst();
}

/**
 * The query of findActiveAccount; the user may be an expression of an enclosing query (the native
 * user grants read the account in the same statement as the grant: oidc-adapter.repository.ts).
 */
export function activeAccountQuery(db: Queryable, tenantId: string, userId: string | Expression<string>) {
  return db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .where('status', '=', sql.lit('ACTIVE'));
}

/** Writes changes a sign-in page makes to an account (a new password, the end of a lockout). */
export function updateAccount(
  db: Queryable,
  tenantId: string,
  userId: string,
  changes: Record<string, unknown>,
): Promise<void> {
  return createUsersRepository(bindTenant(db, tenantId)).update(userId, changes);
}

/**
 * The update that counts one sign-in attempt on `users u`: what it sets, and when the row may be
 * counted. A lock whose time is over ends here (status ACTIVE again, the count starts at this
 * attempt); nothing is counted while a lock is active or when no attempts are left. The
 * condition is in the UPDATE's WHERE, which PostgreSQL re-checks on the row it locks: of
 * concurrent attempts exactly as many as the account has left are counted.
 */
function attemptCount(maxAttempts: number, now: Date) {
  const expired = sql<boolean>`(u.status = 'LOCKED' and u.locked_until is not null and u.locked_until <= ${now})`;
  return {
    set: sql`failed_login_attempts = case when ${expired} then 1 else u.failed_login_attempts + 1 end,
      status = case when ${expired} then 'ACTIVE' else u.status end,
      status_reason = case when ${expired} then null else u.status_reason end,
      locked_until = case when ${expired} then null else u.locked_until end`,
    allowed: sql<boolean>`(${expired} or (u.failed_login_attempts < ${maxAttempts}
      and (u.locked_until is null or u.locked_until <= ${now})))`,
  };
}

/**
 * Counts one sign-in attempt before its password is checked, in one statement (`attemptCount`):
 * a row back when it was counted, nothing while a lock is active or when no attempts are left.
 */
export async function reserveSignInAttempt(
  db: Queryable,
  tenantId: string,
  userId: string,
  maxAttempts: number,
  now: Date,
): Promise<Pick<UserRow, 'status' | 'failed_login_attempts' | 'password_hash'> | undefined> {
  const count = attemptCount(maxAttempts, now);
  const { rows } = await sql<Pick<UserRow, 'status' | 'failed_login_attempts' | 'password_hash'>>`
    update users u set ${count.set}
    where u.tenant_id = ${tenantId} and u.id = ${userId} and u.deleted_at is null and ${count.allowed}
    returning u.status, u.failed_login_attempts, u.password_hash`.execute(db);
  return rows[0];
}

/** What `findAccountAndReserveAttempt` answers. */
export interface AccountAndAttempt {
  /** The live account of the email as it was before this attempt (undefined: none). */
  user: UserRow | undefined;
  /**
   * The attempt counted (`reserveSignInAttempt`'s row), only for an account with a password;
   * undefined when there is none, or when it has no attempt left or is locked.
   */
  reserved: Pick<UserRow, 'status' | 'failed_login_attempts' | 'password_hash'> | undefined;
}

/**
 * The password sign-in's first two steps in one statement (issue 17): the live account of the
 * email, whatever its case, and, when it has a password, one attempt counted before the password
 * is checked, by the same update as `reserveSignInAttempt` (`attemptCount`).
 * The account comes back as it was before the count, as a read before the update would see it.
 */
export async function findAccountAndReserveAttempt(
  db: Queryable,
  tenantId: string,
  email: string,
  maxAttempts: number,
  now: Date,
): Promise<AccountAndAttempt> {
  const count = attemptCount(maxAttempts, now);
  const { rows } = await sql<
    UserRow & {
      reserved_status: UserRow['status'] | null;
      reserved_failed_login_attempts: number | null;
      reserved_password_hash: string | null;
    }
  >`with account as (
      select * from users
      where tenant_id = ${tenantId} and lower(email) = ${email.trim().toLowerCase()} and deleted_at is null
      limit 1
    ), reserved as (
      update users u set ${count.set}
      from account a
      where u.tenant_id = ${tenantId} and u.id = a.id and a.password_hash is not null
        and u.deleted_at is null and ${count.allowed}
      returning u.status, u.failed_login_attempts, u.password_hash
    )
    select account.*, reserved.status as reserved_status,
      reserved.failed_login_attempts as reserved_failed_login_attempts,
      reserved.password_hash as reserved_password_hash
    from account left join reserved on true`.execute(db);
  const row = rows[0];
  if (!row) return { user: undefined, reserved: undefined };
  const {
    reserved_status: status,
    reserved_failed_login_attempts: attempts,
    reserved_password_hash: passwordHash,
    ...user
  } = row;
  return {
    user: user as UserRow,
    // status and the count are NOT NULL columns: null means no row was counted.
    reserved:
      status !== null && attempts !== null
        ? { status, failed_login_attempts: attempts, password_hash: passwordHash }
        : undefined,
  };
}

/** Locks an ACTIVE account for `minutes` after failed attempts; false when it is no longer ACTIVE. */
export async function lockAccountAfterFailures(
  db: Queryable,
  tenantId: string,
  userId: string,
  now: Date,
  minutes: number,
): Promise<boolean> {
  const changed = await db
    .updateTable('users')
    .set({
      status: 'LOCKED',
      status_reason: 'Too many failed sign-in attempts',
      locked_until: new Date(now.getTime() + minutes * 60_000),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .where('status', '=', 'ACTIVE')
    .executeTakeFirst();
  return Number(changed.numUpdatedRows) > 0;
}

/** The right password was given: the count starts again; `signedInAt` when the sign-in goes on. */
export async function resetSignInAttempts(
  db: Queryable,
  tenantId: string,
  userId: string,
  signedInAt: Date | null,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ failed_login_attempts: 0, ...(signedInAt ? { last_login_at: signedInAt } : {}) })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .execute();
}

/**
 * Issue 17: what a completed password sign-in writes (the count starts again, `last_login_at`
 * set), as the CTEs and final select of one statement (UnitOfWork.statementInTenant, which adds the
 * sign-in's audit rows): one round trip instead of BEGIN, UPDATE, audit, COMMIT.
 */
export function signedInStatement(tenantId: string, userId: string, signedInAt: Date) {
  return {
    ctes: [
      sql`signed_in as (update users set failed_login_attempts = 0, last_login_at = ${signedInAt} where tenant_id = ${tenantId} and id = ${userId} returning id)`,
    ],
    source: 'signed_in',
    select: sql<{ updated: number }>`select count(*)::int as updated from signed_in`,
    changedRows: [rowKey('user', userId)],
  };
}

/** The ACTIVE tenants (up to 50, by name) where `email` has a live account: the platform sign-in's mail. */
export function organizationsOfEmail(
  db: Queryable,
  email: string,
): Promise<(Pick<TenantRow, 'id' | 'slug' | 'name' | 'branding'> & { email: string })[]> {
  return db
    .selectFrom('users as u')
    .innerJoin('tenants as t', 't.id', 'u.tenant_id')
    .select(['t.id', 't.slug', 't.name', 't.branding', 'u.email'])
    .where(sql`lower(u.email)`, '=', email.toLowerCase())
    .where('u.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .where('t.status', '=', 'ACTIVE')
    .orderBy('t.name')
    .limit(50)
    .execute();
}

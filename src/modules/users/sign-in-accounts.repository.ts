import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
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
  return db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .where('status', '=', 'ACTIVE')
    .executeTakeFirst();
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
 * Counts one sign-in attempt before its password is checked, in one statement: of concurrent
 * attempts exactly as many as the account has left get a row back. A lock whose time is over
 * ends here (status ACTIVE again, the count starts at this attempt). Nothing comes back while a
 * lock is active or when no attempts are left.
 */
export function reserveSignInAttempt(
  db: Queryable,
  tenantId: string,
  userId: string,
  maxAttempts: number,
  now: Date,
): Promise<Pick<UserRow, 'status' | 'failed_login_attempts' | 'password_hash'> | undefined> {
  const expired = sql<boolean>`(status = 'LOCKED' and locked_until is not null and locked_until <= ${now})`;
  return db
    .updateTable('users')
    .set({
      failed_login_attempts: sql<number>`case when ${expired} then 1 else failed_login_attempts + 1 end`,
      status: sql`case when ${expired} then 'ACTIVE' else status end`,
      status_reason: sql`case when ${expired} then null else status_reason end`,
      locked_until: sql`case when ${expired} then null else locked_until end`,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb(expired, '=', true),
        eb.and([
          eb('failed_login_attempts', '<', maxAttempts),
          eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]),
        ]),
      ]),
    )
    .returning(['status', 'failed_login_attempts', 'password_hash'])
    .executeTakeFirst();
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

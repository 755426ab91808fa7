import { hashPassword, verifyPassword } from '../../lib/passwords.js';
import { effectiveSettings, type TenantSettingsInput } from '../../modules/tenants/index.js';
import {
  findAccountByEmail,
  lockAccountAfterFailures,
  reserveSignInAttempt,
  resetSignInAttempts,
} from '../../modules/users/index.js';
import type { Db, Queryable } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { type AuditOrigin, recordAudit } from '../../platform/events/audit-log.js';
import type { Invalidation } from '../../platform/invalidation.js';

export type LoginResult =
  | { ok: true; user: UserRow; mustChangePassword: boolean }
  | { ok: false; message: string; userId: string | null };

/** The one answer for an unknown email, a wrong password and an account whose attempts are used up. */
const WRONG = 'The email address or the password is not correct.';
let dummyHash: Promise<string> | null = null;

/** Spends the time of a real verification, so that no answer is faster than a password check. */
async function equalizeTiming(password: string): Promise<void> {
  dummyHash ??= hashPassword('timing-equalizer-password');
  await verifyPassword(await dummyHash, password);
}

/**
 * Checks an email and password against a tenant's users, with the tenant's lockout policy
 * (docs/security.md, "Lockout"):
 *
 * - An attempt is counted (reserved) before the password is verified, atomically, and only while
 *   the account has attempts left: of any number of parallel guesses at most `max_failed_attempts`
 *   are ever checked.
 * - The wrong guess that reaches the threshold locks an ACTIVE account for `lockout_minutes`. The
 *   first attempt after the lock expires ends it and starts a new count, so every threshold
 *   crossing locks again.
 * - While a lock is active no password is checked at all, and the answer is exactly that of a
 *   wrong password (no one learns that the account exists or is locked). An administrator's lock
 *   (status LOCKED without an expiry) is said only after the right password.
 * - A right password resets the count. Unknown emails cost the same hashing time as known ones.
 *   Every outcome is audited.
 *
 * `now` is the clock of the decision (tests pass their own); the database's clock is not used.
 */
export async function checkPassword(
  db: Db,
  tenant: TenantRow,
  email: string,
  password: string,
  origin: AuditOrigin,
  clientId: string | null,
  invalidation: Invalidation,
  now: Date = new Date(),
): Promise<LoginResult> {
  const { lockout, password_policy } = effectiveSettings(tenant.settings as TenantSettingsInput);
  const user = await findAccountByEmail(db, tenant.id, email);

  const audit = (
    action: string,
    userId: string | null,
    after: Record<string, unknown>,
    result: 'SUCCESS' | 'FAILURE',
    into: Queryable = db,
  ) =>
    recordAudit(into, origin, {
      action,
      resourceType: 'user',
      resourceId: userId,
      tenantId: tenant.id,
      partnerId: tenant.partner_id,
      after: { ...after, client_id: clientId },
      result,
    });

  if (!user?.password_hash) {
    await equalizeTiming(password);
    await audit(
      'user.login_failed',
      user?.id ?? null,
      { email, reason: user ? 'no password set' : 'unknown email' },
      'FAILURE',
    );
    return { ok: false, message: WRONG, userId: user?.id ?? null };
  }

  const reserved = await reserveSignInAttempt(db, tenant.id, user.id, lockout.max_failed_attempts, now);
  if (!reserved) {
    await equalizeTiming(password);
    // No attempts left on an account that is not locked (the threshold was lowered below its
    // count): lock it now, so that the lock's expiry gives it a fresh count.
    const lockNow = user.status === 'ACTIVE' && !(user.locked_until && user.locked_until > now);
    await db.transaction().execute(async (trx) => {
      if (lockNow) await lockAccountAfterFailures(trx, tenant.id, user.id, now, lockout.lockout_minutes);
      await audit('user.login_failed', user.id, { reason: 'locked' }, 'FAILURE', trx);
      if (lockNow) await invalidation.publish(trx, `user:${user.id}`);
    });
    if (lockNow) invalidation.local(`user:${user.id}`);
    return { ok: false, message: WRONG, userId: user.id };
  }

  if (!(await verifyPassword(reserved.password_hash ?? user.password_hash, password))) {
    // The attempt stays counted; the one that reaches the threshold locks an active account.
    const locked = await db.transaction().execute(async (trx) => {
      const lockNow =
        reserved.failed_login_attempts >= lockout.max_failed_attempts &&
        reserved.status === 'ACTIVE' &&
        (await lockAccountAfterFailures(trx, tenant.id, user.id, now, lockout.lockout_minutes));
      if (lockNow) {
        await audit(
          'user.locked',
          user.id,
          { failed_login_attempts: reserved.failed_login_attempts },
          'SUCCESS',
          trx,
        );
        // A locked user's tokens stop working now, on every instance, not when caches expire.
        await invalidation.publish(trx, `user:${user.id}`);
      }
      await audit(
        'user.login_failed',
        user.id,
        { reason: 'wrong password', failed_login_attempts: reserved.failed_login_attempts },
        'FAILURE',
        trx,
      );
      return lockNow;
    });
    if (locked) invalidation.local(`user:${user.id}`);
    return { ok: false, message: WRONG, userId: user.id };
  }

  // The right password: the count starts again, whatever the account's status.
  const refusal: Partial<Record<UserRow['status'], string>> = {
    DISABLED: 'This account is disabled. Ask your administrator.',
    PENDING_EMAIL_VERIFICATION: 'This account is not activated yet: use the link in your invitation mail.',
    PENDING_APPROVAL: 'This account is waiting for approval by an administrator.',
    LOCKED: 'This account is locked. Ask your administrator.',
  };
  const refused = refusal[reserved.status];
  await db.transaction().execute(async (trx) => {
    await resetSignInAttempts(trx, tenant.id, user.id, refused ? null : now);
    if (refused) await audit('user.login_failed', user.id, { reason: reserved.status }, 'FAILURE', trx);
    else await audit('user.login', user.id, { method: 'password' }, 'SUCCESS', trx);
  });
  if (refused) return { ok: false, message: refused, userId: user.id };

  const maxAge = password_policy.max_age_days;
  const expired =
    maxAge > 0 &&
    (!user.password_changed_at || now.getTime() - user.password_changed_at.getTime() > maxAge * 86_400_000);
  return {
    ok: true,
    user: { ...user, status: reserved.status, failed_login_attempts: 0 },
    mustChangePassword: user.require_password_change || expired,
  };
}

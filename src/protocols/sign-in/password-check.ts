import { hashPassword, verifyPassword } from '../../lib/passwords.js';
import { effectiveSettings, type TenantSettingsInput } from '../../modules/tenants/index.js';
import {
  findAccountAndReserveAttempt,
  lockAccountAfterFailures,
  resetSignInAttempts,
  signedInStatement,
} from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenant-scope.js';
import type { AuditEvent, AuditOrigin } from '../../platform/events/audit-log.js';
import type { UnitOfWork, Work } from '../../platform/events/unit-of-work.js';
import { answered, next, type StepResult } from '../steps.js';

/** The one answer for an unknown email, a wrong password and an account whose attempts are used up. */
export const WRONG_PASSWORD = 'The email address or the password is not correct.';
let dummyHash: Promise<string> | null = null;

/** Spends the time of a real verification, so that no answer is faster than a password check. */
async function equalizeTiming(password: string): Promise<void> {
  dummyHash ??= hashPassword('timing-equalizer-password');
  await verifyPassword(await dummyHash, password);
}

/** Why the password steps refused: the message the form shows again (401). */
export interface PasswordRefusal {
  message: string;
}

/**
 * What the password steps of the sign-in share (docs/security.md, "Lockout"). Each step is one
 * concern; together, in this order, they are the lockout policy:
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
 * `now` is the clock of the decision; the database's clock is not used.
 */
export interface PasswordCheck {
  db: Db;
  /** Each outcome's writes, audit entries and invalidations commit together (ADR 0012). */
  work: UnitOfWork;
  tenant: TenantRow;
  email: string;
  password: string;
  origin: AuditOrigin;
  clientId: string | null;
  now: Date;
  /** Answers the refusal (the form again, 401). */
  refuse: (refusal: PasswordRefusal) => Promise<unknown>;
  user?: UserRow;
  reserved?: Pick<UserRow, 'status' | 'failed_login_attempts' | 'password_hash'>;
  /** Set by the last step: whether the password must be changed before the sign-in goes on. */
  mustChangePassword?: boolean;
  /**
   * A second factor follows the password: the attempt stays counted until it is given, so that
   * wrong codes count toward the lockout like wrong passwords (mfa-steps.ts).
   */
  secondFactorPending?: boolean;
}

/** An audit entry about the account (or the unknown email) of this attempt. */
function entry(
  check: PasswordCheck,
  action: string,
  userId: string | null,
  after: Record<string, unknown>,
  result: 'SUCCESS' | 'FAILURE',
): AuditEvent {
  return {
    action,
    resourceType: 'user',
    resourceId: userId,
    tenantId: check.tenant.id,
    partnerId: check.tenant.partner_id,
    after: { ...after, client_id: check.clientId },
    result,
  };
}

/** One outcome of the attempt, in the tenant's unit of work. */
const inWork = <T>(check: PasswordCheck, body: (w: Work<TenantTx>) => Promise<T>) =>
  check.work.inTenant(check.tenant.id, check.origin, body);

const policy = (check: PasswordCheck) => effectiveSettings(check.tenant.settings as TenantSettingsInput);

/**
 * Step: the account of the email, with a password, and (lockout) the attempt counted before the
 * password is checked, both in one statement. Unknown: the wrong-password answer, as slow.
 */
export async function findAccountStep(check: PasswordCheck): Promise<StepResult> {
  const { lockout } = policy(check);
  const { user, reserved } = await findAccountAndReserveAttempt(
    check.db,
    check.tenant.id,
    check.email,
    lockout.max_failed_attempts,
    check.now,
  );
  if (user?.password_hash) {
    check.user = user;
    check.reserved = reserved;
    return next();
  }
  await equalizeTiming(check.password);
  await inWork(check, async (w) =>
    w.audit(
      entry(
        check,
        'user.login_failed',
        user?.id ?? null,
        { email: check.email, reason: user ? 'no password set' : 'unknown email' },
        'FAILURE',
      ),
    ),
  );
  return answered(await check.refuse({ message: WRONG_PASSWORD }));
}

/**
 * Step (lockout): no attempt could be counted (findAccountStep): none left, or the account is
 * locked. Refused with the password unchecked.
 */
export async function reserveAttemptStep(check: PasswordCheck): Promise<StepResult> {
  if (check.reserved) return next();
  const user = check.user as UserRow;
  const { lockout } = policy(check);
  await equalizeTiming(check.password);
  // No attempts left on an account that is not locked (the threshold was lowered below its
  // count): lock it now, so that the lock's expiry gives it a fresh count.
  const lockNow = user.status === 'ACTIVE' && !(user.locked_until && user.locked_until > check.now);
  await inWork(check, async (w) => {
    if (lockNow) {
      await lockAccountAfterFailures(w.db, check.tenant.id, user.id, check.now, lockout.lockout_minutes);
      // A locked user's tokens stop working now, on every instance.
      w.invalidate(`user:${user.id}`);
    }
    w.audit(entry(check, 'user.login_failed', user.id, { reason: 'locked' }, 'FAILURE'));
  });
  return answered(await check.refuse({ message: WRONG_PASSWORD }));
}

/** Step: the password itself; a wrong one stays counted and may lock the account. */
export async function verifyPasswordStep(check: PasswordCheck): Promise<StepResult> {
  const user = check.user as UserRow;
  const reserved = check.reserved as NonNullable<PasswordCheck['reserved']>;
  if (await verifyPassword(reserved.password_hash ?? (user.password_hash as string), check.password)) {
    return next();
  }
  const { lockout } = policy(check);
  await inWork(check, async (w) => {
    const lockNow =
      reserved.failed_login_attempts >= lockout.max_failed_attempts &&
      reserved.status === 'ACTIVE' &&
      (await lockAccountAfterFailures(w.db, check.tenant.id, user.id, check.now, lockout.lockout_minutes));
    if (lockNow) {
      w.audit(
        entry(
          check,
          'user.locked',
          user.id,
          { failed_login_attempts: reserved.failed_login_attempts },
          'SUCCESS',
        ),
      );
      // A locked user's tokens stop working now, on every instance, not when caches expire.
      w.invalidate(`user:${user.id}`);
    }
    w.audit(
      entry(
        check,
        'user.login_failed',
        user.id,
        { reason: 'wrong password', failed_login_attempts: reserved.failed_login_attempts },
        'FAILURE',
      ),
    );
  });
  return answered(await check.refuse({ message: WRONG_PASSWORD }));
}

const STATUS_REFUSALS: Partial<Record<UserRow['status'], string>> = {
  DISABLED: 'This account is disabled. Ask your administrator.',
  PENDING_EMAIL_VERIFICATION: 'This account is not activated yet: use the link in your invitation mail.',
  PENDING_APPROVAL: 'This account is waiting for approval by an administrator.',
  LOCKED: 'This account is locked. Ask your administrator.',
};

/**
 * Step: the right password was given, so the count starts again whatever the status; an account
 * that may not sign in is told so now (only after the right password). Audits the outcome.
 */
export async function accountStatusStep(check: PasswordCheck): Promise<StepResult> {
  const user = check.user as UserRow;
  const reserved = check.reserved as NonNullable<PasswordCheck['reserved']>;
  const refused = STATUS_REFUSALS[reserved.status];
  if (!refused && !check.secondFactorPending) {
    // Issue 17: the sign-in's write and its audit rows in one statement (the hot path).
    await check.work.statementInTenant(check.tenant.id, check.origin, () => ({
      ...signedInStatement(check.tenant.id, user.id, check.now),
      events: [entry(check, 'user.login', user.id, { method: 'password' }, 'SUCCESS')],
      happened: (row) => row.updated > 0,
    }));
  } else {
    await inWork(check, async (w) => {
      if (refused) {
        await resetSignInAttempts(w.db, check.tenant.id, user.id, null);
        w.audit(entry(check, 'user.login_failed', user.id, { reason: reserved.status }, 'FAILURE'));
      } else {
        // The count is reset once the second factor is given too (mfa-steps.ts).
        w.audit(entry(check, 'user.password_verified', user.id, { next: 'second factor' }, 'SUCCESS'));
      }
    });
  }
  if (refused) return answered(await check.refuse({ message: refused }));
  check.user = {
    ...user,
    status: reserved.status,
    failed_login_attempts: check.secondFactorPending ? reserved.failed_login_attempts : 0,
  };
  return next();
}

/** Step: a password the account must change (required by an administrator, or past max_age_days). */
export function passwordAgeStep(check: PasswordCheck): StepResult {
  const user = check.user as UserRow;
  // A user without a local password (signed in through its identity provider) has none to age.
  if (!user.password_hash) {
    check.mustChangePassword = false;
    return next();
  }
  const maxAge = policy(check).password_policy.max_age_days;
  const expired =
    maxAge > 0 &&
    (!user.password_changed_at ||
      check.now.getTime() - user.password_changed_at.getTime() > maxAge * 86_400_000);
  check.mustChangePassword = user.require_password_change || expired;
  return next();
}

import { verifyPassword } from '../../lib/passwords.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import { bindTenant, type TenantQueryable } from '../../platform/db/tenant-scope.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import type { AuditOrigin } from '../../platform/http.js';
import { describeWait, type FailureLimit } from '../../platform/rate-limit/limits.js';
import { revokeUserSessions, revokeUserSessionsExcept } from '../sessions/index.js';
import { effectiveSettings, type TenantSettingsInput } from '../tenants/index.js';
import { issueTenantActionToken } from './action-tokens.js';
import { createActionTokensRepository } from './action-tokens.repository.js';
import { passwordChange } from './passwords.js';
import type {
  ChangePasswordRequest,
  EmailVerificationSent,
  PasswordChanged,
  UpdateProfileRequest,
} from './self-service.schemas.js';
import {
  lockAccountAfterFailures,
  reserveSignInAttempt,
  resetSignInAttempts,
} from './sign-in-accounts.repository.js';
import { emailVerificationLink, emailVerificationMail } from './user-mail.js';
import { createUsersRepository } from './users.repository.js';
import type { UserResponse } from './users.schemas.js';
import { checkLocaleAndZone, toUserResponse } from './users.service.js';

/** A user's own profile as the users API shows it (self-service), or undefined when not live. */
export async function ownProfile(db: TenantQueryable, userId: string): Promise<UserResponse | undefined> {
  const row = await createUsersRepository(db).findLive(userId);
  return row ? toUserResponse(row) : undefined;
}

/** The signed-in user acting on their own account (the self-service context's caller). */
export interface OwnAccount {
  tenant: TenantRow;
  userId: string;
  /** The sign-in (oidc-provider grant) of the calling token, if it came from one. */
  grantId: string | null;
  /** Audit facts: the actor is the user. */
  origin: AuditOrigin;
}

export interface ProfileServiceOptions {
  db: Db;
  work: UnitOfWork;
  publicUrl: string;
  /** Verification mails per user (SCAIKEY_RATE_LIMIT_VERIFY_EMAIL_PER_USER). */
  verificationMails: FailureLimit;
}

const EMAIL_VERIFICATION = ['EMAIL_VERIFICATION'] as const;
const WRONG_CURRENT_PASSWORD = 'The current password is not correct.';

/**
 * The self-service profile (docs/api-decisions.md, "Self-service profile"): a user changes their
 * own name and preferences, their password (with the current one; every other sign-in ends), and
 * confirms their email address through a mailed link. Every change commits with its audit entry,
 * actor the user, through one unit of work in the user's tenant.
 */
export function createProfileService({ db, work, publicUrl, verificationMails }: ProfileServiceOptions) {
  const subject = (account: OwnAccount) =>
    ({
      resourceType: 'user',
      resourceId: account.userId,
      tenantId: account.tenant.id,
      partnerId: account.tenant.partner_id,
    }) as const;

  async function mustFind(account: OwnAccount) {
    const row = await createUsersRepository(bindTenant(db, account.tenant.id)).findLive(account.userId);
    if (!row) throw notFound('User');
    return row;
  }

  /**
   * A wrong current password: it stays counted as a failed sign-in (reserveSignInAttempt) and the
   * attempt that reaches the tenant's threshold locks the account, which ends the caller's token
   * too. Audited as a failure, in its own transaction (the refusal is not rolled back).
   */
  async function refuseCurrentPassword(
    account: OwnAccount,
    reserved: Pick<UserRow, 'status' | 'failed_login_attempts'> | undefined,
    now: Date,
  ): Promise<never> {
    const { lockout } = effectiveSettings(account.tenant.settings as TenantSettingsInput);
    // No attempt left (reserved undefined): lock now, as the sign-in does.
    const lockNow =
      !reserved ||
      (reserved.failed_login_attempts >= lockout.max_failed_attempts && reserved.status === 'ACTIVE');
    const locked = await work.inTenant(account.tenant.id, account.origin, async (w) => {
      const locked =
        lockNow &&
        (await lockAccountAfterFailures(
          w.db,
          account.tenant.id,
          account.userId,
          now,
          lockout.lockout_minutes,
        ));
      if (locked) {
        w.audit({
          action: 'user.locked',
          ...subject(account),
          after: {
            failed_login_attempts: reserved?.failed_login_attempts ?? null,
            reason: 'password change',
          },
        });
        // A locked user's tokens stop working now, on every instance.
        w.invalidate(`user:${account.userId}`);
      }
      w.audit({
        action: 'user.password_change_failed',
        ...subject(account),
        after: {
          reason: 'wrong current password',
          failed_login_attempts: reserved?.failed_login_attempts ?? null,
        },
        result: 'FAILURE',
      });
      return locked;
    });
    throw new AppError(
      'INVALID_CURRENT_PASSWORD',
      locked
        ? `${WRONG_CURRENT_PASSWORD} Too many wrong passwords: the account is locked for ${lockout.lockout_minutes} minutes.`
        : WRONG_CURRENT_PASSWORD,
    );
  }

  return {
    async updateProfile(account: OwnAccount, input: UpdateProfileRequest): Promise<UserResponse> {
      checkLocaleAndZone(input);
      await work.inTenant(account.tenant.id, account.origin, async (w) => {
        const users = createUsersRepository(w.db);
        const before = await users.lockLive(account.userId);
        if (!before) throw notFound('User');
        const changes: Record<string, unknown> = {};
        for (const key of ['first_name', 'last_name', 'display_name', 'phone'] as const) {
          if (input[key] !== undefined && input[key] !== before[key]) changes[key] = input[key];
        }
        if (input.locale !== undefined && (input.locale ?? 'en') !== before.locale) {
          changes.locale = input.locale ?? 'en';
        }
        if (input.timezone !== undefined && (input.timezone ?? 'UTC') !== before.timezone) {
          changes.timezone = input.timezone ?? 'UTC';
        }
        if (Object.keys(changes).length === 0) return;
        await users.update(account.userId, changes);
        w.audit({
          action: 'user.updated',
          ...subject(account),
          before: Object.fromEntries(Object.keys(changes).map((key) => [key, before[key as keyof UserRow]])),
          after: { ...changes, method: 'SELF_SERVICE' },
        });
        // Names and locale are claims of tokens and userinfo: cached views of the user go.
        w.invalidate(`user:${account.userId}`);
      });
      return toUserResponse(await mustFind(account));
    },

    /**
     * Changes the password with the current one. The tenant's policy and history apply. Every
     * other sign-in of the user ends (sessions, grants, refresh tokens): only the grant of the
     * calling token, its tokens and the browser session holding it stay. Open password-reset
     * links stop working.
     */
    async changePassword(account: OwnAccount, input: ChangePasswordRequest): Promise<PasswordChanged> {
      const { tenant, userId } = account;
      const user = await mustFind(account);
      if (!user.password_hash) {
        throw new AppError(
          'PASSWORD_NOT_SET',
          'This account has no password to change: it signs in through an identity provider',
        );
      }
      const { lockout } = effectiveSettings(tenant.settings as TenantSettingsInput);
      const now = new Date();
      // Counted before the password is checked, atomically (src/protocols/sign-in/password-check.ts):
      // of parallel guesses at most the tenant's max_failed_attempts are ever checked.
      const reserved = await reserveSignInAttempt(db, tenant.id, userId, lockout.max_failed_attempts, now);
      const currentHash = reserved?.password_hash ?? null;
      if (!reserved || !currentHash || !(await verifyPassword(currentHash, input.current_password))) {
        return refuseCurrentPassword(account, reserved, now);
      }

      let change: Awaited<ReturnType<typeof passwordChange>>;
      try {
        if (input.new_password === input.current_password) {
          throw new AppError(
            'PASSWORD_POLICY',
            'Password does not meet the password policy: must differ from the current password',
          );
        }
        // Hash outside the transaction: argon2id takes tens of milliseconds.
        change = await passwordChange(tenant.settings, input.new_password, {
          password_hash: currentHash,
          password_history: user.password_history,
        });
      } catch (error) {
        // The current password was right: the count starts again whatever the new one.
        await resetSignInAttempts(db, tenant.id, userId, null);
        throw error;
      }

      await work.inTenant(tenant.id, account.origin, async (w) => {
        const users = createUsersRepository(w.db);
        const locked = await users.lockLive(userId);
        if (!locked) throw notFound('User');
        if (locked.password_hash !== currentHash) {
          throw new AppError('CONFLICT', 'The password was changed meanwhile; sign in again and retry');
        }
        await users.update(userId, { ...change, failed_login_attempts: 0, require_password_change: false });
        const revoked = account.grantId
          ? await revokeUserSessionsExcept(w.db, userId, account.grantId)
          : await revokeUserSessions(w.db, userId);
        const linksVoided = await createActionTokensRepository(w.db).voidOpen(userId, 'PASSWORD_RESET');
        w.audit({
          action: 'user.password_changed',
          ...subject(account),
          after: {
            method: 'SELF_SERVICE',
            sessions_revoked: revoked,
            kept_grant: account.grantId !== null,
            links_voided: linksVoided,
          },
        });
        // Access tokens of the ended grants stop at once (their cached verification goes).
        w.invalidate(`user:${userId}`);
      });
      return {
        message: 'The password was changed; every other sign-in of the account has ended',
        password_changed_at: change.password_changed_at.toISOString(),
      };
    },

    /** Mails a link confirming the account's address (24 hours, single use; a newer one voids older ones). */
    async requestEmailVerification(account: OwnAccount): Promise<EmailVerificationSent> {
      const { tenant, userId } = account;
      const user = await mustFind(account);
      if (user.email_verified) {
        throw new AppError('EMAIL_ALREADY_VERIFIED', `${user.email} is already verified`);
      }
      const wait = await verificationMails.count(userId);
      if (wait > 0) {
        throw new AppError(
          'RATE_LIMITED',
          `Too many verification mails. Wait ${describeWait(wait)}, then try again.`,
          { 'retry-after': String(wait) },
        );
      }
      return work.inTenant(tenant.id, account.origin, async (w) => {
        const current = await createUsersRepository(w.db).lockLive(userId);
        if (!current) throw notFound('User');
        if (current.email_verified) {
          throw new AppError('EMAIL_ALREADY_VERIFIED', `${current.email} is already verified`);
        }
        const issued = await issueTenantActionToken(w.db, userId, 'EMAIL_VERIFICATION');
        await w.mail(
          emailVerificationMail(
            tenant,
            current,
            emailVerificationLink(publicUrl, tenant, issued.token),
            issued.expiresAt,
          ),
        );
        w.audit({
          action: 'user.email_verification_requested',
          ...subject(account),
          after: { email: current.email, expires_at: issued.expiresAt.toISOString() },
        });
        return {
          message: `A confirmation link was sent to ${current.email}`,
          email: current.email,
          expires_at: issued.expiresAt.toISOString(),
        };
      });
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;

/** A live email verification link of the tenant (the confirmation page), without using it up. */
export async function peekEmailVerification(
  db: Db,
  tenant: TenantRow,
  token: string,
): Promise<{ userId: string; email: string } | undefined> {
  const handle = bindTenant(db, tenant.id);
  const live = await createActionTokensRepository(handle).peek(token, EMAIL_VERIFICATION);
  const user = live ? await createUsersRepository(handle).findLive(live.user_id) : undefined;
  return user ? { userId: user.id, email: user.email } : undefined;
}

/**
 * Uses an email verification link up and marks the address verified (audited `user.email_verified`,
 * actor the user: the link proves the mailbox). Undefined when the link is unknown, used or expired.
 * An address changed after the mail was sent voided the link (the users service voids open links).
 */
export async function confirmEmailVerification(
  db: Db,
  work: UnitOfWork,
  tenant: TenantRow,
  token: string,
  origin: Omit<AuditOrigin, 'actorType' | 'actorId'>,
): Promise<{ user_id: string; email: string; email_verified: true } | undefined> {
  const live = await peekEmailVerification(db, tenant, token);
  if (!live) return undefined;
  return work.inTenant(tenant.id, { ...origin, actorType: 'user', actorId: live.userId }, async (w) => {
    const used = await createActionTokensRepository(w.db).consume(token, EMAIL_VERIFICATION);
    if (!used || used.user_id !== live.userId) return undefined;
    const users = createUsersRepository(w.db);
    const user = await users.lockLive(used.user_id);
    if (!user) return undefined;
    if (!user.email_verified) {
      await users.update(user.id, { email_verified: true });
      w.audit({
        action: 'user.email_verified',
        resourceType: 'user',
        resourceId: user.id,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        before: { email_verified: false },
        after: { email: user.email, email_verified: true, method: 'EMAIL_LINK' },
      });
      w.invalidate(`user:${user.id}`);
    }
    return { user_id: user.id, email: user.email, email_verified: true as const };
  });
}

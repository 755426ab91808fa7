import { sql } from 'kysely';
import { hashPassword, verifyPassword } from '../../lib/passwords.js';
import type { Db, Queryable } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import type { Invalidation } from '../../platform/invalidation.js';
import { type AuditOrigin, recordAudit } from '../audit/audit.repository.js';
import { effectiveSettings, type TenantSettingsInput } from '../tenants/tenant-settings.js';

export type LoginResult =
  | { ok: true; user: UserRow; mustChangePassword: boolean }
  | { ok: false; message: string; userId: string | null };

const WRONG = 'The email address or the password is not correct.';
let dummyHash: Promise<string> | null = null;

/**
 * Checks an email and password against a tenant's users, with the tenant's lockout policy:
 * each wrong password counts (atomically); at `max_failed_attempts` the account is LOCKED for
 * `lockout_minutes`, after which the next correct password unlocks it. Unknown emails cost the
 * same hashing time as known ones. Disabled, pending and locked users get a clear message once
 * the password is right (or, while locked, at once). Every outcome is audited.
 */
export async function checkPassword(
  db: Db,
  tenant: TenantRow,
  email: string,
  password: string,
  origin: AuditOrigin,
  clientId: string | null,
  invalidation: Invalidation,
): Promise<LoginResult> {
  const settings = effectiveSettings(tenant.settings as TenantSettingsInput);
  const user = await db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenant.id)
    .where(sql`lower(email)`, '=', email.trim().toLowerCase())
    .where('deleted_at', 'is', null)
    .executeTakeFirst();

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
    dummyHash ??= hashPassword('timing-equalizer-password');
    await verifyPassword(await dummyHash, password);
    await audit(
      'user.login_failed',
      user?.id ?? null,
      { email, reason: user ? 'no password set' : 'unknown email' },
      'FAILURE',
    );
    return { ok: false, message: WRONG, userId: user?.id ?? null };
  }

  const now = Date.now();
  const lockActive = user.status === 'LOCKED' && (!user.locked_until || user.locked_until.getTime() > now);
  if (lockActive) {
    await audit('user.login_failed', user.id, { reason: 'locked' }, 'FAILURE');
    const until = user.locked_until ? ` until ${user.locked_until.toISOString().slice(11, 16)} UTC` : '';
    return {
      ok: false,
      message: `This account is locked${until}. Try again later or ask your administrator.`,
      userId: user.id,
    };
  }

  if (!(await verifyPassword(user.password_hash, password))) {
    // Count, maybe lock, and audit as one change.
    const locked = await db.transaction().execute(async (trx) => {
      const counted = await trx
        .updateTable('users')
        .set({ failed_login_attempts: sql<number>`failed_login_attempts + 1` })
        .where('tenant_id', '=', tenant.id)
        .where('id', '=', user.id)
        .returning(['failed_login_attempts', 'status'])
        .executeTakeFirstOrThrow();
      const lockNow =
        counted.failed_login_attempts >= settings.lockout.max_failed_attempts && counted.status === 'ACTIVE';
      if (lockNow) {
        await trx
          .updateTable('users')
          .set({
            status: 'LOCKED',
            status_reason: 'Too many failed sign-in attempts',
            locked_until: new Date(now + settings.lockout.lockout_minutes * 60_000),
          })
          .where('tenant_id', '=', tenant.id)
          .where('id', '=', user.id)
          .execute();
        await audit(
          'user.locked',
          user.id,
          { failed_login_attempts: counted.failed_login_attempts },
          'SUCCESS',
          trx,
        );
        // A locked user's tokens stop working now, on every instance, not when caches expire.
        await invalidation.publish(trx, `user:${user.id}`);
      }
      await audit(
        'user.login_failed',
        user.id,
        { reason: 'wrong password', failed_login_attempts: counted.failed_login_attempts },
        'FAILURE',
        trx,
      );
      return lockNow;
    });
    if (locked) invalidation.local(`user:${user.id}`);
    return { ok: false, message: WRONG, userId: user.id };
  }

  const refusal: Partial<Record<UserRow['status'], string>> = {
    DISABLED: 'This account is disabled. Ask your administrator.',
    PENDING_EMAIL_VERIFICATION: 'This account is not activated yet: use the link in your invitation mail.',
    PENDING_APPROVAL: 'This account is waiting for approval by an administrator.',
  };
  const refused = refusal[user.status];
  if (refused) {
    await audit('user.login_failed', user.id, { reason: user.status }, 'FAILURE');
    return { ok: false, message: refused, userId: user.id };
  }

  // Correct password: an expired automatic lock ends here, the failure count starts again.
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({
        failed_login_attempts: 0,
        last_login_at: sql<Date>`now()`,
        ...(user.status === 'LOCKED' ? { status: 'ACTIVE', locked_until: null, status_reason: null } : {}),
      })
      .where('tenant_id', '=', tenant.id)
      .where('id', '=', user.id)
      .execute();
    await audit('user.login', user.id, { method: 'password' }, 'SUCCESS', trx);
  });
  const maxAge = settings.password_policy.max_age_days;
  const expired =
    maxAge > 0 &&
    (!user.password_changed_at || now - user.password_changed_at.getTime() > maxAge * 86_400_000);
  return {
    ok: true,
    user: { ...user, status: 'ACTIVE' },
    mustChangePassword: user.require_password_change || expired,
  };
}

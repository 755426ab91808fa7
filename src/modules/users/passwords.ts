import { brokenPasswordRules } from '../../lib/password-policy.js';
import { hashPassword, verifyPassword } from '../../lib/passwords.js';
import { AppError } from '../../platform/errors.js';
import { effectiveSettings, type TenantSettingsInput } from '../tenants/index.js';

/** How many earlier hashes a user row keeps (the policy's `history` maximum). */
const HISTORY_KEPT = 24;

/** Users of an identity provider: their password is the provider's business. */
const FEDERATED_SOURCES = new Set(['OIDC', 'SAML', 'LDAP']);

/**
 * A user of an identity provider (identity_source OIDC, SAML, LDAP) may have a local password only
 * when the tenant allows it (setting federated_local_passwords): 409 LOCAL_PASSWORD_NOT_ALLOWED.
 */
export function localPasswordAllowed(
  tenantSettings: Record<string, unknown>,
  user: { identity_source?: string },
): boolean {
  if (!user.identity_source || !FEDERATED_SOURCES.has(user.identity_source)) return true;
  return effectiveSettings(tenantSettings as TenantSettingsInput).federated_local_passwords;
}

export function assertLocalPasswordAllowed(
  tenantSettings: Record<string, unknown>,
  user: { identity_source?: string },
): void {
  if (localPasswordAllowed(tenantSettings, user)) return;
  throw new AppError(
    'LOCAL_PASSWORD_NOT_ALLOWED',
    'This user signs in through an identity provider; the tenant does not allow local passwords for such users (setting federated_local_passwords)',
  );
}

/**
 * Checks `password` against the tenant's policy and history and returns the column changes that
 * set it (argon2id hash, password_changed_at, the history shifted). Throws 400 PASSWORD_POLICY
 * naming every broken rule, 409 LOCAL_PASSWORD_NOT_ALLOWED for a user of an identity provider
 * unless the tenant allows it. Never logs or returns the password.
 */
export async function passwordChange(
  tenantSettings: Record<string, unknown>,
  password: string,
  current: { password_hash: string | null; password_history: string[]; identity_source?: string } | null,
): Promise<{ password_hash: string; password_changed_at: Date; password_history: string[] }> {
  const settings = effectiveSettings(tenantSettings as TenantSettingsInput);
  const policy = settings.password_policy;
  if (current) assertLocalPasswordAllowed(tenantSettings, current);
  const broken = brokenPasswordRules(password, policy);
  if (broken.length > 0) {
    throw new AppError(
      'PASSWORD_POLICY',
      `Password does not meet the password policy: needs ${broken.join('; ')}`,
    );
  }
  const previous = current
    ? [current.password_hash, ...current.password_history].filter((h): h is string => !!h)
    : [];
  if (policy.history > 0) {
    for (const hash of previous.slice(0, policy.history)) {
      if (await verifyPassword(hash, password)) {
        throw new AppError(
          'PASSWORD_POLICY',
          `Password does not meet the password policy: must differ from the last ${policy.history} password(s)`,
        );
      }
    }
  }
  return {
    password_hash: await hashPassword(password),
    password_changed_at: new Date(),
    password_history: previous.slice(0, HISTORY_KEPT),
  };
}

import { newId } from '../../lib/ids.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import type { TenantQueryable, TenantTx } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import type { Work } from '../../platform/events/unit-of-work.js';
import { lockUserLimit } from '../tenants/index.js';
import { createUsersRepository } from './users.repository.js';

/**
 * What federation (src/protocols/federation) does to users, in the caller's unit of work: create
 * a user at its first sign-in through an identity provider (JIT), and bring its profile in line
 * with what the provider says at every sign-in or sync. Audited like the admin API's changes.
 */

/** The user fields an identity provider fills (docs/federation.md, attribute mapping). */
export interface UpstreamProfile {
  email: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  /** Merged into the user's custom attributes (keys of the mapping only). */
  custom_attributes: Record<string, unknown>;
}

const subject = (tenant: TenantRow, userId: string) => ({
  resourceType: 'user',
  resourceId: userId,
  tenantId: tenant.id,
  partnerId: tenant.partner_id,
});

/** Creates an ACTIVE user without a password whose identity_source is the provider's type. */
export async function createFederatedUser(
  w: Work<TenantTx>,
  tenant: TenantRow,
  source: 'OIDC' | 'SAML' | 'LDAP',
  profile: UpstreamProfile,
  options: { ouId: string | null; emailVerified: boolean; providerId: string },
): Promise<UserRow> {
  const users = createUsersRepository(w.db);
  const limit = await lockUserLimit(w.db, tenant);
  if (limit !== null && (await users.liveCount()) >= limit) {
    throw new AppError(
      'LIMIT_EXCEEDED',
      `Tenant ${tenant.id} has reached its partner's limit of ${limit} users (max_users_per_tenant)`,
    );
  }
  if (await users.findLiveByEmail(profile.email)) {
    throw new AppError(
      'EMAIL_TAKEN',
      'Another account of this organization already has this email address; an administrator can link it',
    );
  }
  const id = newId('user');
  const custom = Object.keys(profile.custom_attributes).length > 0 ? profile.custom_attributes : null;
  await users.insert({
    id,
    email: profile.email,
    username: null,
    first_name: profile.first_name,
    last_name: profile.last_name,
    display_name: profile.display_name,
    phone: null,
    locale: 'en',
    timezone: 'UTC',
    password_hash: null,
    password_changed_at: null,
    require_password_change: false,
    status: 'ACTIVE',
    ou_id: options.ouId,
    custom_attributes: custom,
  });
  await users.update(id, { identity_source: source, email_verified: options.emailVerified });
  w.audit({
    action: 'user.created',
    ...subject(tenant, id),
    after: {
      id,
      email: profile.email,
      first_name: profile.first_name,
      last_name: profile.last_name,
      display_name: profile.display_name,
      status: 'ACTIVE',
      ou_id: options.ouId,
      identity_source: source,
      identity_provider_id: options.providerId,
      password_set: false,
      mail: null,
    },
  });
  return (await users.findLive(id)) as UserRow;
}

/**
 * Brings a user's profile in line with the provider's (only fields that differ; an email taken by
 * another user of the tenant is left as it is). Returns the changed fields.
 */
export async function applyUpstreamProfile(
  w: Work<TenantTx>,
  tenant: TenantRow,
  user: UserRow,
  profile: UpstreamProfile,
  extra: { identity_source?: 'OIDC' | 'SAML' | 'LDAP'; email_verified?: boolean } = {},
): Promise<Record<string, unknown>> {
  const users = createUsersRepository(w.db);
  const changes: Record<string, unknown> = {};
  for (const key of ['first_name', 'last_name', 'display_name'] as const) {
    if (profile[key] !== null && profile[key] !== user[key]) changes[key] = profile[key];
  }
  if (profile.email && profile.email.toLowerCase() !== user.email.toLowerCase()) {
    const holder = await users.findLiveByEmail(profile.email);
    if (!holder) changes.email = profile.email;
  }
  const customKeys = Object.keys(profile.custom_attributes);
  if (customKeys.length > 0) {
    const current = (user.custom_attributes ?? {}) as Record<string, unknown>;
    if (
      customKeys.some(
        (key) => JSON.stringify(current[key]) !== JSON.stringify(profile.custom_attributes[key]),
      )
    ) {
      changes.custom_attributes = { ...current, ...profile.custom_attributes };
    }
  }
  if (extra.identity_source && extra.identity_source !== user.identity_source) {
    changes.identity_source = extra.identity_source;
  }
  if (extra.email_verified && !user.email_verified) changes.email_verified = true;
  if (Object.keys(changes).length === 0) return changes;
  await users.update(user.id, changes);
  const before = Object.fromEntries(Object.keys(changes).map((key) => [key, user[key as keyof UserRow]]));
  w.audit({ action: 'user.updated', ...subject(tenant, user.id), before, after: changes });
  return changes;
}

/** A live user by id, in the caller's transaction. */
export function liveAccount(db: TenantQueryable, userId: string): Promise<UserRow | undefined> {
  return createUsersRepository(db).findLive(userId);
}

/** A live user by email, in the caller's transaction. */
export function liveAccountByEmail(db: TenantQueryable, email: string): Promise<UserRow | undefined> {
  return createUsersRepository(db).findLiveByEmail(email);
}

/**
 * Users whose identity provider was deleted: those still of its type become LOCAL users (without a
 * password until an administrator resets it or they use "Forgot password?"). Audited per user.
 */
export async function makeLocalUsers(
  w: Work<TenantTx>,
  tenant: TenantRow,
  userIds: readonly string[],
  source: 'OIDC' | 'SAML' | 'LDAP',
): Promise<number> {
  let changed = 0;
  const users = createUsersRepository(w.db);
  for (const userId of userIds) {
    const user = await users.findLive(userId);
    if (!user || user.identity_source !== source) continue;
    await users.update(userId, { identity_source: 'LOCAL' });
    w.audit({
      action: 'user.updated',
      ...subject(tenant, userId),
      before: { identity_source: source },
      after: { identity_source: 'LOCAL', reason: 'identity provider deleted' },
    });
    changed++;
  }
  return changed;
}

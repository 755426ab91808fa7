import { groupsByName, syncMappedMemberships } from '../../modules/groups/index.js';
import {
  findFederatedLink,
  linkFederatedIdentity,
  type ProviderRecord,
  touchFederatedLink,
} from '../../modules/identity-providers/index.js';
import {
  applyUpstreamProfile,
  createFederatedUser,
  liveAccount,
  liveAccountByEmail,
  type UpstreamProfile,
} from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow, UserRow } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import type { AuditOrigin } from '../../platform/events/audit-log.js';
import type { UnitOfWork, Work } from '../../platform/events/unit-of-work.js';
import type { UpstreamIdentity } from './types.js';

/**
 * From an upstream identity to a ScaiKey user (docs/federation.md, "First sign-in"): the link of
 * (provider, subject) if there is one; else, if the provider links by email and vouches for it,
 * the live user with that email; else, with JIT provisioning, a new user. Then, at every sign-in,
 * the attribute mapping and the group mapping. All in one transaction.
 */

/** Where each user field comes from when the provider's mapping does not say. */
const DEFAULT_MAPPING: Record<
  ProviderRecord['type'],
  Record<'email' | 'given_name' | 'family_name' | 'display_name', string[]>
> = {
  OIDC: {
    email: ['email'],
    given_name: ['given_name'],
    family_name: ['family_name'],
    display_name: ['name'],
  },
  SAML: {
    email: [
      'email',
      'mail',
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      'urn:oid:0.9.2342.19200300.100.1.3',
    ],
    given_name: [
      'givenName',
      'given_name',
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
      'urn:oid:2.5.4.42',
    ],
    family_name: [
      'sn',
      'surname',
      'family_name',
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
      'urn:oid:2.5.4.4',
    ],
    display_name: [
      'displayName',
      'name',
      'http://schemas.microsoft.com/identity/claims/displayname',
      'urn:oid:2.16.840.1.113730.3.1.241',
    ],
  },
  LDAP: {
    email: ['mail'],
    given_name: ['givenName'],
    family_name: ['sn'],
    display_name: ['displayName', 'cn'],
  },
};

/** The first value of an attribute, as text. */
function attributeValue(attributes: Record<string, unknown>, names: readonly string[]): string | null {
  for (const name of names) {
    const raw = attributes[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  }
  return null;
}

/** The user fields the provider's attribute mapping gives for this identity. */
export function mappedProfile(
  provider: ProviderRecord,
  identity: UpstreamIdentity,
): Omit<UpstreamProfile, 'email'> & { email: string | null } {
  const mapping = provider.attributeMapping;
  const defaults = DEFAULT_MAPPING[provider.type];
  const pick = (field: keyof typeof defaults) =>
    attributeValue(identity.attributes, mapping[field] ? [mapping[field] as string] : defaults[field]);
  const email = (mapping.email ? pick('email') : (identity.email ?? pick('email')))?.toLowerCase() ?? null;
  const custom: Record<string, unknown> = {};
  for (const [key, attribute] of Object.entries(mapping.custom_attributes ?? {})) {
    const raw = identity.attributes[attribute];
    if (raw !== undefined) custom[key] = raw;
  }
  return {
    email,
    first_name: pick('given_name'),
    last_name: pick('family_name'),
    display_name: pick('display_name'),
    custom_attributes: custom,
  };
}

export interface ProvisionResult {
  user: UserRow;
  created: boolean;
  linked: boolean;
}

/** A refusal of a federated sign-in that the user may read (the page says it; the audit too). */
export class FederationRefusal extends Error {
  override name = 'FederationRefusal';
}

export interface ProvisionContext {
  db: Db;
  work: UnitOfWork;
  tenant: TenantRow;
  origin: AuditOrigin;
}

/** Finds, links or creates the user of `identity` and applies the mappings (one transaction). */
export async function provisionUser(
  context: ProvisionContext,
  provider: ProviderRecord,
  identity: UpstreamIdentity,
): Promise<ProvisionResult> {
  const { tenant } = context;
  const profile = mappedProfile(provider, identity);
  return context.work.inTenant(tenant.id, context.origin, async (w) => {
    const link = await findFederatedLink(w.db, provider.id, identity.subject);
    let user: UserRow | undefined;
    let created = false;
    let linked = false;
    if (link) {
      user = await liveAccount(w.db, link.user_id);
      if (!user) throw new FederationRefusal('This account was deleted. Ask an administrator.');
      await touchFederatedLink(w.db, link.id, { dn: identity.dn ?? null, groups: identity.groups });
    } else {
      if (provider.linkByEmail && profile.email && identity.emailVerified) {
        user = await liveAccountByEmail(w.db, profile.email);
      }
      if (!user) {
        if (!provider.jitProvisioning) {
          throw new FederationRefusal(
            'There is no account for you in this organization yet. Ask an administrator to create one.',
          );
        }
        if (!profile.email) {
          throw new FederationRefusal(`${provider.name} did not give an email address for your account.`);
        }
        try {
          user = await createFederatedUser(
            w,
            tenant,
            provider.type,
            { ...profile, email: profile.email },
            { ouId: provider.defaultOuId, emailVerified: identity.emailVerified, providerId: provider.id },
          );
        } catch (error) {
          if (error instanceof AppError && error.code === 'EMAIL_TAKEN') {
            throw new FederationRefusal(
              'An account with your email address already exists here and is not linked to this sign-in. Ask an administrator.',
            );
          }
          if (error instanceof AppError) throw new FederationRefusal(error.detail);
          throw error;
        }
        created = true;
      }
      await linkFederatedIdentity(w.db, {
        userId: user.id,
        providerId: provider.id,
        subject: identity.subject,
        dn: identity.dn ?? null,
        groups: identity.groups,
      });
      linked = true;
      w.audit({
        action: 'user.federated_identity_linked',
        resourceType: 'user',
        resourceId: user.id,
        tenantId: tenant.id,
        partnerId: tenant.partner_id,
        after: { identity_provider_id: provider.id, provider_type: provider.type, created },
      });
    }
    if (!created) {
      await applyUpstreamProfile(
        w,
        tenant,
        user,
        { ...profile, email: profile.email ?? user.email },
        // identity_source stays: a local user linked by email keeps its source (and password) until
        // an administrator decides (GET /api/v1/admin/users/identity-source/mismatches?fix=true).
        identity.emailVerified ? { email_verified: true } : {},
      );
    }
    await applyGroupMapping(w, tenant, provider, user.id, identity.groups);
    const fresh = (await liveAccount(w.db, user.id)) as UserRow;
    return { user: fresh, created, linked };
  });
}

/** The groups the mapping names get the user exactly when the upstream groups include theirs. */
async function applyGroupMapping(
  w: Work<TenantTx>,
  tenant: TenantRow,
  provider: ProviderRecord,
  userId: string,
  upstreamGroups: readonly string[],
): Promise<void> {
  if (provider.groupMapping.length === 0) return;
  const names = provider.groupMapping.flatMap((rule) => (rule.group_name ? [rule.group_name] : []));
  const byName = names.length > 0 ? await groupsByName(w, tenant, names) : new Map<string, string>();
  const target = (rule: (typeof provider.groupMapping)[number]) =>
    rule.group_id ?? byName.get(rule.group_name ?? '') ?? null;
  const upstream = new Set(upstreamGroups.map((group) => group.toLowerCase()));
  const managed: string[] = [];
  const wanted: string[] = [];
  for (const rule of provider.groupMapping) {
    const groupId = target(rule);
    if (!groupId) continue;
    managed.push(groupId);
    if (upstream.has(rule.upstream_group.toLowerCase())) wanted.push(groupId);
  }
  // A group named by several rules is wanted if any of them matches.
  await syncMappedMemberships(w, tenant, userId, managed, wanted);
}

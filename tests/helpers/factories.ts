import { randomBytes } from 'node:crypto';
import { newId } from '../../src/lib/ids.js';
import { generateSecret, sha256Hex } from '../../src/lib/secrets.js';
import type { AdminRole } from '../../src/platform/auth/principal.js';
import type { ApplicationScope, ApplicationType, UserStatus } from '../../src/platform/db/schema.js';
import { platformIssuer, tenantIssuer } from '../../src/platform/issuers.js';
import { clientCredentialsClaims, signAccessToken } from '../../src/protocols/oauth/access-token.js';
import type { TestApp } from './test-app.js';

const unique = () => randomBytes(4).toString('hex');

/** A partner as the Partners API returns it (the fields tests use). */
export interface Partner {
  id: string;
  slug: string;
  name: string;
}

/** A tenant as the Tenants API returns it (the fields tests use): the fixture of a test's own tenant. */
export interface Tenant {
  id: string;
  slug: string;
  partner_id: string;
  name: string;
}

/** Creates a partner through the API with a super_admin platform token. */
export async function createPartner(t: TestApp, fields: Record<string, unknown> = {}): Promise<Partner> {
  const response = await t.request({
    method: 'POST',
    url: '/api/v1/admin/partners/',
    token: await t.platformToken(),
    body: { name: `Partner ${unique()}`, ...fields },
  });
  if (response.status !== 201)
    throw new Error(`createPartner: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data;
}

/** Creates a tenant through the API with a super_admin platform token. */
export async function createTenant(t: TestApp, fields: Record<string, unknown> = {}): Promise<Tenant> {
  const response = await t.request({
    method: 'POST',
    url: '/api/v1/admin/tenants/',
    token: await t.platformToken(),
    body: { name: `Tenant ${unique()}`, ...fields },
  });
  if (response.status !== 201)
    throw new Error(`createTenant: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data;
}

/** Inserts a user row directly (the Users API is another issue's). */
export async function insertUser(
  t: TestApp,
  tenantId: string,
  fields: {
    email?: string;
    status?: UserStatus;
    deleted?: boolean;
    ouId?: string | null;
    displayName?: string;
  } = {},
) {
  const id = newId('user');
  await t.database.db
    .insertInto('users')
    .values({
      tenant_id: tenantId,
      id,
      email: fields.email ?? `user-${unique()}@example.com`,
      username: null,
      first_name: null,
      last_name: null,
      display_name: fields.displayName ?? null,
      phone: null,
      password_hash: null,
      password_changed_at: null,
      status_reason: null,
      avatar_url: null,
      ou_id: fields.ouId ?? null,
      locked_until: null,
      last_login_at: null,
      status: fields.status ?? 'ACTIVE',
      ...(fields.deleted ? { deleted_at: new Date() } : {}),
    })
    .execute();
  return { id, tenantId };
}

/** Inserts an application directly (the Applications API is issue 7's); returns its id and secret. */
export async function insertApplication(
  t: TestApp,
  fields: {
    scope: ApplicationScope;
    partnerId?: string | null;
    tenantId?: string | null;
    type?: ApplicationType;
    allowedScopes?: string[];
    tokenLifetime?: number;
    redirectUris?: string[];
    postLogoutRedirectUris?: string[];
    assignmentRequired?: boolean;
  },
) {
  const id = newId('application');
  const secret = generateSecret();
  await t.database.db
    .insertInto('applications')
    .values({
      id,
      scope: fields.scope,
      partner_id: fields.partnerId ?? null,
      tenant_id: fields.tenantId ?? null,
      application_type: fields.type ?? 'SERVICE',
      name: `App ${unique()}`,
      description: null,
      client_secret_digest: ['WEB', 'SERVICE'].includes(fields.type ?? 'SERVICE') ? sha256Hex(secret) : null,
      allowed_scopes: JSON.stringify(fields.allowedScopes ?? ['admin:read', 'admin:write']),
      ...(fields.tokenLifetime ? { token_lifetime: fields.tokenLifetime } : {}),
      ...(fields.redirectUris ? { redirect_uris: JSON.stringify(fields.redirectUris) } : {}),
      ...(fields.postLogoutRedirectUris
        ? { post_logout_redirect_uris: JSON.stringify(fields.postLogoutRedirectUris) }
        : {}),
      ...(fields.assignmentRequired ? { assignment_required: true } : {}),
    })
    .execute();
  return {
    id,
    secret,
    scope: fields.scope,
    partnerId: fields.partnerId ?? null,
    tenantId: fields.tenantId ?? null,
  };
}

/** A confidential WEB application of `tenant` (TENANT scope) that signs users in at `redirectUris`. */
export function insertWebApplication(
  t: TestApp,
  tenant: Pick<Tenant, 'id' | 'partner_id'>,
  allowedScopes: string[],
  redirectUris: string[],
) {
  return insertApplication(t, {
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type: 'WEB',
    allowedScopes,
    redirectUris,
  });
}

/** A client_credentials token of an application, signed with the server's key as the token endpoint does. */
export function applicationToken(
  t: TestApp,
  application: { id: string; scope: ApplicationScope; partnerId: string | null; tenantId: string | null },
  scopes: string[] = ['admin:read', 'admin:write'],
  options: { lifetime?: number; now?: number } = {},
) {
  const claims = clientCredentialsClaims(
    {
      clientId: application.id,
      appScope: application.scope,
      partnerId: application.partnerId,
      tenantId: application.tenantId,
    },
    scopes,
  );
  return signAccessToken(
    t.app.scaikey.keys,
    platformIssuer(t.config.publicUrl),
    claims,
    options.lifetime ?? 3600,
    options.now,
  );
}

/**
 * Stores an active admin role assignment for a user of `tenant` (for partner_admin: of `partnerId`,
 * by default the tenant's partner; for tenant_admin: of the tenant).
 */
export async function grantAdminRole(
  t: TestApp,
  userId: string,
  role: AdminRole,
  tenant: Pick<Tenant, 'id' | 'partner_id'>,
  partnerId?: string,
) {
  await t.database.db
    .insertInto('admin_role_assignments')
    .values({
      user_tenant_id: tenant.id,
      id: newId('roleAssignment'),
      user_id: userId,
      role: role.toUpperCase() as 'SUPER_ADMIN' | 'PARTNER_ADMIN' | 'TENANT_ADMIN',
      partner_id: role === 'partner_admin' ? (partnerId ?? tenant.partner_id) : null,
      tenant_id: role === 'tenant_admin' ? tenant.id : null,
      expires_at: null,
      created_by: null,
    })
    .execute();
}

/**
 * A user access token with an admin role, as the tenant's OpenID provider issues it to the console:
 * sub = usr_ id, tenant_id, partner_id, role, client_id of the signing-in application, whose
 * allowed_scopes include the token's scopes. By default the token carries `admin:read admin:write`
 * (a user token acts with its role only with them, decisions.md); `scope: 'openid'` makes the
 * identity-only token any other relying party gets.
 */
export async function adminUserToken(
  t: TestApp,
  options: {
    /** null: a user without an admin role (an ordinary account). */
    role: AdminRole | null;
    tenant: Pick<Tenant, 'id' | 'slug' | 'partner_id'>;
    partnerId?: string;
    scope?: string;
  },
) {
  const user = await insertUser(t, options.tenant.id);
  // The verifier checks that the role is still held: give the user the assignment the token claims.
  if (options.role) await grantAdminRole(t, user.id, options.role, options.tenant, options.partnerId);
  const scope = options.scope ?? 'openid admin:read admin:write';
  const application = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: options.tenant.partner_id,
    tenantId: options.tenant.id,
    type: 'WEB',
    allowedScopes: scope.split(' '),
  });
  const claims = {
    sub: user.id,
    aud: application.id,
    client_id: application.id,
    scope,
    tenant_id: options.tenant.id,
    partner_id: options.partnerId ?? options.tenant.partner_id,
    role: options.role,
  };
  return {
    user,
    application,
    token: signAccessToken(
      t.app.scaikey.keys,
      tenantIssuer(t.config.publicUrl, options.tenant.slug),
      claims,
      3600,
    ),
  };
}

import type { TenantRow } from '../../platform/db/schema.js';

/**
 * The client id of the hosted account page at every tenant's issuer (docs/api-decisions.md,
 * "Account page"). Not an application: it is not in the applications table, no one can register
 * it (application ids are `app_…`), and no token is ever issued to it.
 */
export const ACCOUNT_CLIENT_ID = 'scaikey-account';

/** What the account page is called where its client id shows (sessions, authorized apps). */
export const ACCOUNT_CLIENT_NAME = 'Account page';

/** The name of a built-in client (not in the applications table), for the sessions lists. */
export const builtInClientName = (clientId: string): string | null =>
  clientId === ACCOUNT_CLIENT_ID ? ACCOUNT_CLIENT_NAME : null;

/** Where the tenant's authorization endpoint sends the browser back after a sign-in (under the issuer). */
export const accountCallbackUrl = (issuer: string) => `${issuer}/account/callback`;

/**
 * The account page as a static client of a tenant's OpenID provider (oidc-provider `clients`):
 * a public client with one redirect URI, the page's callback, and only the code flow with PKCE.
 * It exists so that a browser without a session can be sent through the tenant's hosted sign-in
 * (an interaction needs an authorization request); the page itself reads the provider's session.
 * The code it receives is destroyed unredeemed, and no one holds its PKCE verifier.
 */
export function accountClientMetadata(issuer: string, tenant: TenantRow): Record<string, unknown> {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: ACCOUNT_CLIENT_NAME,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [accountCallbackUrl(issuer)],
    post_logout_redirect_uris: [],
    scaikey_allowed_scopes: ['openid'],
    scaikey_app_scope: 'TENANT',
    scaikey_partner_id: tenant.partner_id,
    scaikey_tenant_id: tenant.id,
    scaikey_token_lifetime: 300,
    scaikey_application_type: 'SPA',
    scaikey_assignment_required: false,
    scaikey_secret_rotated_at: null,
    scaikey_allowed_origins: [],
  };
}

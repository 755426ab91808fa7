import type { ApplicationRow, TenantRow } from '../../platform/db/schema.js';

/**
 * OAuth facts shared by the routes and the providers, kept apart from oidc-provider itself so that
 * the library is loaded only when a provider is first needed (it is the largest module: ~30 MB).
 */

/** The resource every ScaiKey access token is for unless told otherwise: the management API. */
export const MANAGEMENT_RESOURCE = 'urn:scaikey:api';

/** Whether a tenant's provider serves an application: its own, its partner's, or a GLOBAL one. */
export function tenantAcceptsClient(tenant: TenantRow, application: ApplicationRow): boolean {
  return (
    application.scope === 'GLOBAL' ||
    (application.scope === 'PARTNER' && application.partner_id === tenant.partner_id) ||
    (application.scope === 'TENANT' && application.tenant_id === tenant.id)
  );
}

/** Endpoint paths under the issuer: the tenant flavour as docs/api-decisions.md ("Sign-in") names them. */
export function providerRoutes(tenant: boolean) {
  const prefix = tenant ? '/oauth' : '';
  return {
    authorization: `${prefix}/authorize`,
    token: `${prefix}/token`,
    end_session: `${prefix}/logout`,
    revocation: `${prefix}/revoke`,
    introspection: `${prefix}/introspect`,
    userinfo: `${prefix}/userinfo`,
    jwks: `${prefix}/jwks`,
    // RFC 9126 names no path; `par` as most providers have it.
    pushed_authorization_request: `${prefix}/par`,
  };
}

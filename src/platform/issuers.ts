/** The issuer of platform tokens: discovery lives at `{issuer}/.well-known/openid-configuration`. */
export function platformIssuer(publicUrl: string): string {
  return `${publicUrl}/api/v1/platform/oauth`;
}

/** The issuer of a tenant's tokens (per-tenant OpenID provider, issue 7). */
export function tenantIssuer(publicUrl: string, slug: string): string {
  return `${publicUrl}/api/v1/auth/tenants/${slug}`;
}

export function tenantIssuerPrefix(publicUrl: string): string {
  return `${publicUrl}/api/v1/auth/tenants/`;
}

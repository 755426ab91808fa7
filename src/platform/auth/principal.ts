import type { ApplicationScope } from '../db/schema.js';

export type AdminRole = 'super_admin' | 'partner_admin' | 'tenant_admin';

/** Who is calling, built from a verified access token (claims of docs/api-decisions.md, "Tokens and authorization"). */
export interface Principal {
  /** `sub`: a user id (usr_…) or, for client_credentials, the client id. */
  subject: string;
  kind: 'user' | 'application';
  clientId: string;
  scopes: ReadonlySet<string>;
  platformToken: boolean;
  appScope: ApplicationScope | null;
  /** The admin role a user token carries (`role` claim), if any. */
  role: AdminRole | null;
  partnerId: string | null;
  tenantId: string | null;
  tokenId: string | null;
  /** `aud`: whom the token is addressed to (the client itself unless token exchange named another). */
  audience: readonly string[];
  /** `iat`, seconds since epoch (null when the token has none). */
  issuedAt: number | null;
  /** The sign-in (oidc-provider grant) a user token was issued from, if any (`grant_id`). */
  grantId: string | null;
  /** Token expiry, ms since epoch. */
  expiresAt: number;
}

/** The rights an admin-API caller acts with, after roles and scopes are combined. */
export interface AdminRights {
  level: AdminRole;
  partnerId: string | null;
  tenantId: string | null;
  canWrite: boolean;
}

/** How an audit event names the caller. */
export function auditActor(principal: Principal | null): { actor_type: string; actor_id: string | null } {
  if (!principal) return { actor_type: 'system', actor_id: null };
  return { actor_type: principal.kind === 'user' ? 'admin' : 'api', actor_id: principal.subject };
}

import { issuedAtAfterRotation } from '../../platform/auth/secret-rotation.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
import type { KeyStore } from '../../platform/keys.js';
import { clientCredentialsClaims, signAccessToken } from './access-token.js';
import { type ClientAuthenticator, CONFIDENTIAL_TYPES } from './client-authentication.js';
import { InvalidScope, UnauthorizedClient } from './errors.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

/** Requested scopes (RFC 6749 §3.3), each within the application's allowed_scopes; none = all allowed. */
export function grantedScopes(requested: string | null, allowed: readonly string[]): string[] {
  if (requested === null || requested.trim() === '') return [...allowed];
  const scopes = [...new Set(requested.split(' ').filter(Boolean))];
  const allowList = new Set(allowed);
  const refused = scopes.find((scope) => !allowList.has(scope));
  if (refused !== undefined) throw new InvalidScope(`requested scope is not allowed: ${refused}`);
  return scopes;
}

/**
 * `grant_type=client_credentials` answered natively (docs/adr/0002-native-client-credentials.md): the same
 * client table, keys, claims and RFC 6749 errors as oidc-provider, about 40% less work per grant.
 */
export async function clientCredentialsGrant(options: {
  params: URLSearchParams;
  authorization: string | undefined;
  clients: ClientAuthenticator;
  keys: KeyStore;
  issuer: string;
  acceptsClient: (application: ApplicationRow) => boolean;
  /** Runs once the client is authenticated, before anything is issued (CORS, cors.ts). */
  checkClient?: (application: ApplicationRow) => void;
}): Promise<{ clientId: string; response: TokenResponse }> {
  const { application } = await options.clients.authenticate(options.authorization, options.params);
  options.checkClient?.(application);
  if (!CONFIDENTIAL_TYPES.has(application.application_type) || !options.acceptsClient(application)) {
    throw new UnauthorizedClient('requested grant type is not allowed for this client');
  }
  const scopes = grantedScopes(options.params.get('scope'), application.allowed_scopes);
  const claims = clientCredentialsClaims(
    {
      clientId: application.id,
      appScope: application.scope,
      partnerId: application.partner_id,
      tenantId: application.tenant_id,
    },
    scopes,
  );
  // Right after a secret rotation the token waits for the next second (secret-rotation.ts).
  const now = application.secret_rotated_at
    ? await issuedAtAfterRotation(application.secret_rotated_at.getTime())
    : undefined;
  const accessToken = signAccessToken(options.keys, options.issuer, claims, application.token_lifetime, now);
  return {
    clientId: application.id,
    response: {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: application.token_lifetime,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    },
  };
}

import { isId } from '../../lib/ids.js';
import { secretMatchesDigest } from '../../lib/secrets.js';
import { issuedAtAfterRotation } from '../../platform/auth/secret-rotation.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
import type { KeyStore } from '../../platform/keys.js';
import { clientCredentialsClaims, signAccessToken } from './access-token.js';
import { OAuthError } from './oauth-errors.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

export interface PresentedClient {
  clientId: string;
  clientSecret: string | null;
}

/**
 * The client id and secret of an HTTP Basic header (RFC 6749 §2.3.1: both form-urlencoded
 * inside): undefined when the header is not Basic, null when it is malformed.
 */
export function basicCredentials(authorization: string | undefined): PresentedClient | null | undefined {
  if (!authorization || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return null;
  }
}

/**
 * Reads client authentication from HTTP Basic or from client_id/client_secret form fields; using
 * both at once is refused.
 */
export function presentedClient(authorization: string | undefined, params: URLSearchParams): PresentedClient {
  const formId = params.get('client_id');
  const formSecret = params.get('client_secret');
  const basic = basicCredentials(authorization);
  if (basic !== undefined) {
    if (formSecret !== null) {
      throw new OAuthError(
        'invalid_request',
        'client authentication must only be provided using one mechanism',
      );
    }
    if (basic === null) throw new OAuthError('invalid_client', 'client authentication failed');
    if (formId !== null && formId !== basic.clientId) {
      throw new OAuthError(
        'invalid_request',
        'mismatch between client_id in the body and in the Authorization header',
      );
    }
    return basic;
  }
  if (formId === null) throw new OAuthError('invalid_request', 'no client authentication mechanism provided');
  return { clientId: formId, clientSecret: formSecret };
}

/** Confidential application types: the only ones with a secret, and so with client_credentials. */
export const CONFIDENTIAL_TYPES = new Set(['WEB', 'SERVICE']);

/** Requested scopes (RFC 6749 §3.3), each within the application's allowed_scopes; none = all allowed. */
export function grantedScopes(requested: string | null, allowed: readonly string[]): string[] {
  if (requested === null || requested.trim() === '') return [...allowed];
  const scopes = [...new Set(requested.split(' ').filter(Boolean))];
  const allowList = new Set(allowed);
  const refused = scopes.find((scope) => !allowList.has(scope));
  if (refused !== undefined)
    throw new OAuthError('invalid_scope', `requested scope is not allowed: ${refused}`);
  return scopes;
}

/**
 * `grant_type=client_credentials` answered natively (../shared/notes/oidc-provider.md): the same
 * client table, keys, claims and RFC 6749 errors as oidc-provider, about 40% less work per grant.
 */
export async function clientCredentialsGrant(options: {
  params: URLSearchParams;
  authorization: string | undefined;
  findClient: (clientId: string) => Promise<ApplicationRow | undefined>;
  keys: KeyStore;
  issuer: string;
  acceptsClient: (application: ApplicationRow) => boolean;
  /** Runs once the client is authenticated, before anything is issued (CORS, cors.ts). */
  checkClient?: (application: ApplicationRow) => void;
}): Promise<{ clientId: string; response: TokenResponse }> {
  const { clientId, clientSecret } = presentedClient(options.authorization, options.params);
  const application = isId('application', clientId) ? await options.findClient(clientId) : undefined;
  if (!application?.client_secret_digest || clientSecret === null) {
    throw new OAuthError('invalid_client', 'client authentication failed');
  }
  if (!secretMatchesDigest(clientSecret, application.client_secret_digest)) {
    throw new OAuthError('invalid_client', 'client authentication failed');
  }
  options.checkClient?.(application);
  if (!CONFIDENTIAL_TYPES.has(application.application_type) || !options.acceptsClient(application)) {
    throw new OAuthError('unauthorized_client', 'requested grant type is not allowed for this client');
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

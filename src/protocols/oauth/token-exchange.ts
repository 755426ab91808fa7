import type { KoaContextWithOIDC } from 'oidc-provider';
import { findUsableClient } from '../../modules/applications/index.js';
import type { TokenVerifier, VerifiedToken } from '../../platform/auth/authenticate.js';
import { DpopProofError } from '../../platform/auth/dpop.js';
import { issuedAtAfterRotation } from '../../platform/auth/secret-rotation.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import type { KeyStore } from '../../platform/keys.js';
import { signAccessToken } from './access-token.js';
import { OIDC_SCOPES } from './accounts.js';
import {
  InvalidDpopProof,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  OAuthError,
  TemporarilyUnavailable,
  UnauthorizedClient,
} from './errors.js';
import { toProviderError } from './provider-errors.js';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * Claims that describe the token itself, not the subject: a new token gets its own. `cnf` among
 * them: the subject token's DPoP key is its holder's, not the caller's (RFC 9449 §6.1).
 */
const TOKEN_OWN_CLAIMS = new Set([
  'jti',
  'iat',
  'exp',
  'nbf',
  'iss',
  'aud',
  'client_id',
  'act',
  'scope',
  'cnf',
]);

/**
 * RFC 8693 token exchange for confidential clients: a service that received a user's access token
 * trades it for one addressed to itself or to another application (`audience`), with the same or
 * fewer scopes, and the delegation recorded in `act` (§4.1; nested for chains). The subject token
 * must be an access token of this issuer (`typ: at+jwt`, RFC 9068: never an ID token) addressed to
 * the calling client, and live by the one verifier's liveness check (not expired or revoked, its
 * user, application and sign-in still there).
 */
export function tokenExchangeHandler(options: {
  db: Db;
  keys: KeyStore;
  issuer: string;
  tenant: TenantRow | null;
  verifier: TokenVerifier;
}) {
  // One error family (errors.ts): thrown here, handed to oidc-provider, which answers the request.
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    try {
      await exchange(ctx);
    } catch (error) {
      throw error instanceof OAuthError ? toProviderError(error) : error;
    }
  };

  async function exchange(ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client;
    if (!client || client.clientAuthMethod === 'none') {
      throw new UnauthorizedClient('token exchange is for confidential clients');
    }
    const params = ctx.oidc.params as Record<string, string | undefined>;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new InvalidRequest('only access tokens can be requested');
    }
    const metadata = client.metadata() as {
      client_id: string;
      scaikey_token_lifetime: number;
      scaikey_allowed_scopes: string[];
      scaikey_secret_rotated_at: number | null;
    };
    let verified: VerifiedToken | null = null;
    if (params.subject_token) {
      try {
        verified = await options.verifier.verify(params.subject_token);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
      }
    }
    const subject = verified?.claims;
    if (
      !verified ||
      !subject ||
      subject.iss !== options.issuer ||
      typeof subject.exp !== 'number' ||
      subject.exp * 1000 <= Date.now()
    ) {
      // RFC 8693 §2.2.2: an invalid or unacceptable subject_token is `invalid_request`, not
      // `invalid_grant` (the grant is the exchange itself).
      throw new InvalidRequest('subject_token is not a valid access token of this issuer');
    }
    // Only the party a token was issued to may trade it in: another client holding it got it by
    // mistake or theft (the same rule as a resource server's audience check, RFC 9068 §4).
    if (!verified.principal.audience.includes(metadata.client_id)) {
      throw new InvalidRequest('subject_token is not addressed to this client');
    }

    let audience = metadata.client_id;
    if (params.audience && params.audience !== metadata.client_id) {
      const target = await findUsableClient(options.db, params.audience);
      const sameTenant =
        target &&
        (target.scope === 'GLOBAL' ||
          !options.tenant ||
          target.tenant_id === options.tenant.id ||
          (target.scope === 'PARTNER' && target.partner_id === options.tenant.partner_id));
      if (!sameTenant) throw new InvalidTarget('audience is not an application of this tenant');
      audience = params.audience;
    }

    // The new token belongs to the caller: its API scopes must be within the caller's allowed_scopes
    // (OpenID Connect scopes are every client's), as for any token it would get itself.
    const subjectScopes = typeof subject.scope === 'string' ? subject.scope.split(' ').filter(Boolean) : [];
    const callerMay = (scope: string) =>
      OIDC_SCOPES.has(scope) || metadata.scaikey_allowed_scopes.includes(scope);
    let scopes = subjectScopes.filter(callerMay);
    if (params.scope) {
      scopes = [...new Set(params.scope.split(' ').filter(Boolean))];
      const refused = scopes.find((scope) => !subjectScopes.includes(scope) || !callerMay(scope));
      if (refused)
        throw new InvalidScope('scope exceeds the scope of the subject token or of this client', {
          scope: refused,
        });
    }

    const carried = Object.fromEntries(
      Object.entries(subject).filter(([name]) => !TOKEN_OWN_CLAIMS.has(name)),
    );
    const act = {
      sub: metadata.client_id,
      client_id: metadata.client_id,
      ...(subject.act && typeof subject.act === 'object' ? { act: subject.act } : {}),
    };
    // RFC 9449 §5: a DPoP proof binds the new token to its key, as oidc-provider does for the
    // grants it answers itself (this one is ScaiKey's); checked last, so that only a request that
    // is otherwise good uses up its proof.
    let boundKey: string | null = null;
    if (ctx.get('DPoP')) {
      try {
        boundKey = await options.verifier.checkProof({
          header: ctx.req.headers.dpop,
          method: ctx.method,
          url: ctx.oidc.urlFor('token'),
        });
      } catch (error) {
        if (error instanceof DpopProofError) throw new InvalidDpopProof(error.message);
        if (error instanceof AppError && error.status === 503) throw new TemporarilyUnavailable(error.detail);
        throw error;
      }
    }

    const now = await issuedAtAfterRotation(metadata.scaikey_secret_rotated_at);
    const lifetime = Math.max(1, Math.min(metadata.scaikey_token_lifetime, subject.exp - now));
    const accessToken = signAccessToken(
      options.keys,
      options.issuer,
      {
        ...carried,
        aud: audience,
        client_id: metadata.client_id,
        ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
        act,
        ...(boundKey ? { cnf: { jkt: boundKey } } : {}),
      },
      lifetime,
      now,
    );
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: boundKey ? 'DPoP' : 'Bearer',
      expires_in: lifetime,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    };
  }
}

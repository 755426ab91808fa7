import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { isId } from '../../lib/ids.js';
import { decodeJwt, verifyRs256 } from '../../lib/jwt.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { type KeyStore, SIGNING_ALG } from '../../platform/keys.js';
import { createApplicationsRepository } from '../applications/applications.repository.js';
import { signAccessToken } from './access-token.js';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Claims that describe the token itself, not the subject: a new token gets its own. */
const TOKEN_OWN_CLAIMS = new Set(['jti', 'iat', 'exp', 'nbf', 'iss', 'aud', 'client_id', 'act', 'scope']);

/**
 * RFC 8693 token exchange for confidential clients: a service that received a user's access token
 * trades it for one addressed to itself or to another application (`audience`), with the same or
 * fewer scopes, and the delegation recorded in `act` (§4.1; nested for chains). Only access tokens
 * of this issuer are accepted as subject tokens, and only live ones (not expired, not revoked).
 */
export function tokenExchangeHandler(options: {
  db: Db;
  keys: KeyStore;
  issuer: string;
  tenant: TenantRow | null;
}) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client;
    if (!client || client.clientAuthMethod === 'none') {
      throw new errors.UnauthorizedClient('token exchange is for confidential clients');
    }
    const params = ctx.oidc.params as Record<string, string | undefined>;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('only access tokens can be requested');
    }
    const decoded = params.subject_token ? decodeJwt(params.subject_token) : null;
    const key =
      decoded && typeof decoded.header.kid === 'string'
        ? await options.keys.verificationKey(decoded.header.kid)
        : undefined;
    const now = Math.floor(Date.now() / 1000);
    const subject = decoded?.payload;
    if (
      !decoded ||
      decoded.header.alg !== SIGNING_ALG ||
      !key ||
      !verifyRs256(decoded, key.publicKey) ||
      subject?.iss !== options.issuer ||
      typeof subject.exp !== 'number' ||
      subject.exp <= now ||
      typeof subject.sub !== 'string'
    ) {
      throw new errors.InvalidGrant('subject_token is not a valid access token of this issuer');
    }
    if (typeof subject.jti === 'string') {
      const revoked = await options.db
        .selectFrom('revoked_tokens')
        .select('jti')
        .where('jti', '=', subject.jti)
        .executeTakeFirst();
      if (revoked) throw new errors.InvalidGrant('subject_token was revoked');
    }

    const metadata = client.metadata() as { client_id: string; scaikey_token_lifetime: number };
    let audience = metadata.client_id;
    if (params.audience && params.audience !== metadata.client_id) {
      const target = isId('application', params.audience)
        ? await createApplicationsRepository(options.db).findUsableClient(params.audience)
        : undefined;
      const sameTenant =
        target &&
        (target.scope === 'GLOBAL' ||
          !options.tenant ||
          target.tenant_id === options.tenant.id ||
          (target.scope === 'PARTNER' && target.partner_id === options.tenant.partner_id));
      if (!sameTenant) throw new errors.InvalidTarget('audience is not an application of this tenant');
      audience = params.audience;
    }

    const subjectScopes = typeof subject.scope === 'string' ? subject.scope.split(' ').filter(Boolean) : [];
    let scopes = subjectScopes;
    if (params.scope) {
      scopes = [...new Set(params.scope.split(' ').filter(Boolean))];
      const refused = scopes.find((scope) => !subjectScopes.includes(scope));
      if (refused) throw new errors.InvalidScope('scope exceeds the scope of the subject token', refused);
    }

    const carried = Object.fromEntries(
      Object.entries(subject).filter(([name]) => !TOKEN_OWN_CLAIMS.has(name)),
    );
    const act = {
      sub: metadata.client_id,
      client_id: metadata.client_id,
      ...(subject.act && typeof subject.act === 'object' ? { act: subject.act } : {}),
    };
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
      },
      lifetime,
      now,
    );
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: lifetime,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    };
  };
}

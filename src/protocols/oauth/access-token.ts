import { randomFillSync } from 'node:crypto';
import { signRs256 } from '../../lib/jwt.js';
import { issuedAtAfterRotation, issuedBeforeRotation } from '../../platform/auth/secret-rotation.js';
import type { ApplicationScope } from '../../platform/db/schema.js';
import type { KeyStore } from '../../platform/keys.js';
import { SIGNING_ALG } from '../../platform/keys.js';

/** What a client_credentials token is built from: the application and the granted scopes. */
export interface ClientTokenSubject {
  clientId: string;
  appScope: ApplicationScope;
  partnerId: string | null;
  tenantId: string | null;
}

/**
 * The claims of a client_credentials access token besides iss/iat/exp/jti (docs/api-decisions.md, "Tokens and authorization"):
 * sub = aud = client_id, space-separated scope, app_scope, platform_token for GLOBAL applications,
 * token_type "client_credentials", and partner_id / tenant_id where the application has them.
 * Both the native path and oidc-provider build tokens from this one function.
 */
export function clientCredentialsClaims(
  subject: ClientTokenSubject,
  scopes: readonly string[],
): Record<string, unknown> {
  return {
    sub: subject.clientId,
    aud: subject.clientId,
    client_id: subject.clientId,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    app_scope: subject.appScope,
    platform_token: subject.appScope === 'GLOBAL',
    token_type: 'client_credentials',
    ...(subject.partnerId ? { partner_id: subject.partnerId } : {}),
    ...(subject.tenantId ? { tenant_id: subject.tenantId } : {}),
  };
}

// Random bytes for token ids, drawn from the CSPRNG 4 KiB at a time: one call per 256 tokens
// instead of one per token on the grant's hot path.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** A JWT id like oidc-provider's: 21 URL-safe random characters (126 bits). */
export function newTokenId(): string {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + 16).slice(0, 21);
  poolOffset += 16;
  return id;
}

/**
 * Signs an RFC 9068 access token (`typ: at+jwt`) with the active key, adding iss, iat, exp and jti.
 * Returns the token and its lifetime in seconds.
 */
export function signAccessToken(
  keys: KeyStore,
  issuer: string,
  claims: Record<string, unknown>,
  lifetimeSeconds: number,
  now = Math.floor(Date.now() / 1000),
): string {
  const key = keys.active;
  return signRs256(
    { alg: SIGNING_ALG, typ: 'at+jwt', kid: key.kid },
    { jti: newTokenId(), iat: now, exp: now + lifetimeSeconds, iss: issuer, ...claims },
    key.privateKey,
  );
}

/**
 * `iat` and `exp` of a token oidc-provider minted for a client, moved past the second of the
 * client's last secret rotation when needed (waits for it; see platform/auth/secret-rotation.ts).
 */
export async function issuedAfterRotation(
  iat: number,
  exp: number,
  rotatedAtMs: number | null | undefined,
): Promise<{ iat: number; exp: number }> {
  if (rotatedAtMs == null || !issuedBeforeRotation(iat, rotatedAtMs)) return { iat, exp };
  const later = await issuedAtAfterRotation(rotatedAtMs);
  return { iat: later, exp: exp + Math.max(later - iat, 0) };
}

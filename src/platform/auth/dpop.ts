import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from 'jose';

/**
 * The algorithms a DPoP proof may be signed with (RFC 9449 §5.1, advertised as
 * `dpop_signing_alg_values_supported`): asymmetric only. The token endpoint (oidc-provider) and the
 * resource side (TokenVerifier) accept the same list.
 */
export const DPOP_SIGNING_ALGS: readonly string[] = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];

/**
 * How far a proof's `iat` may be from the server's clock, either way, where access tokens are
 * used (RFC 9449 §4.3 step 11, §11.1): a proof is good for this long after it was made, and
 * clocks may be this much apart. The token endpoint is oidc-provider's and allows 300 s.
 */
export const DPOP_PROOF_WINDOW_SECONDS = 60;

/** A proof longer than this is refused before it is parsed (a proof is a few hundred bytes). */
const MAX_PROOF_LENGTH = 8192;

/**
 * Remembers one-time values for every instance (the rate limiter's shared counter store:
 * the database's `rate_limits` table or Redis).
 */
export interface ProofReplayStore {
  /** True the first time `key` is seen within `ttlMs`; false when it was seen before. Rejects when the store fails. */
  firstUse(key: string, ttlMs: number): Promise<boolean>;
}

/** A DPoP proof that does not hold (RFC 9449 §7.1 `invalid_dpop_proof`); the message says why. */
export class DpopProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DpopProofError';
  }
}

/** RFC 9449 §4.3 step 9, §6.1: base64url(SHA-256(value)) as `ath` and `jkt` use it. */
export function sha256Base64url(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** `value` as an absolute http(s) URL without query and fragment, normalized (RFC 3986 §6.2.2–6.2.3), or null. */
function comparableUrl(value: string): string | null {
  if (!URL.canParse(value)) return null;
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  url.search = '';
  url.hash = '';
  return url.href;
}

/**
 * Checks a DPoP proof (RFC 9449 §4.3): one `DPoP` header holding a JWT typed `dpop+jwt`, signed
 * with one of DPOP_SIGNING_ALGS by the public key embedded in its `jwk` header; `htm` the
 * request's method, `htu` the request's URL (without query and fragment; built by the caller from
 * SCAIKEY_PUBLIC_URL, never from Host), `iat` within DPOP_PROOF_WINDOW_SECONDS of now, and `jti`
 * never seen before. With an access token (at a protected resource, §7) also `ath`, the hash of
 * the token, and the key's thumbprint must be the token's `cnf.jkt`. The `jti` is recorded last,
 * in the shared store, for as long as the proof could still be accepted. Returns the thumbprint
 * of the proof's key (what a token issued with this proof is bound to).
 *
 * Throws DpopProofError for a proof that does not hold; rejects with the store's error when the
 * replay check cannot be made (the caller refuses the request: no proof is accepted unchecked).
 */
export async function verifyDpopProof(options: {
  /** The `DPoP` request header as received (several headers arrive joined by commas). */
  header: string | string[] | undefined;
  method: string;
  url: string;
  /** The access token presented with the proof, and the key it is bound to (its `cnf.jkt`). */
  accessToken?: { token: string; boundKey: string };
  replay: ProofReplayStore;
  now?: number;
}): Promise<string> {
  const { header } = options;
  if (header === undefined || header === '') throw new DpopProofError('DPoP proof missing');
  if (typeof header !== 'string' || header.includes(',')) {
    throw new DpopProofError('exactly one DPoP proof is required');
  }
  if (header.length > MAX_PROOF_LENGTH) throw new DpopProofError('DPoP proof too long');

  let payload: Record<string, unknown>;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(header, EmbeddedJWK, {
      algorithms: [...DPOP_SIGNING_ALGS],
      typ: 'dpop+jwt',
    });
    payload = verified.payload;
    jwk = verified.protectedHeader.jwk as JWK;
  } catch {
    throw new DpopProofError('DPoP proof is not a valid JWT signed by its embedded key');
  }

  const now = options.now ?? Date.now();
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) {
    throw new DpopProofError('DPoP proof must have a jti');
  }
  if (payload.htm !== options.method) throw new DpopProofError('DPoP proof htm mismatch');
  const expectedUrl = comparableUrl(options.url);
  if (typeof payload.htu !== 'string' || !expectedUrl || comparableUrl(payload.htu) !== expectedUrl) {
    throw new DpopProofError('DPoP proof htu mismatch');
  }
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    throw new DpopProofError('DPoP proof must have an iat');
  if (Math.abs(now / 1000 - iat) > DPOP_PROOF_WINDOW_SECONDS) {
    throw new DpopProofError('DPoP proof iat is not recent enough');
  }
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (options.accessToken) {
    if (payload.ath !== sha256Base64url(options.accessToken.token)) {
      throw new DpopProofError('DPoP proof ath mismatch');
    }
    if (thumbprint !== options.accessToken.boundKey) {
      throw new DpopProofError('DPoP proof key does not match the key the access token is bound to');
    }
  }

  // Replay (RFC 9449 §11.1): the jti of this key is remembered until the proof's window has
  // passed. Hashed: a fixed-length key that holds nothing the client chose.
  const key = `dpop:${sha256Base64url(`${thumbprint}\u0000${payload.jti}`)}`;
  const ttlMs = Math.max(1000, Math.ceil((iat + DPOP_PROOF_WINDOW_SECONDS + 1) * 1000 - now));
  if (!(await options.replay.firstUse(key, ttlMs))) {
    throw new DpopProofError('DPoP proof was already used');
  }
  return thumbprint;
}

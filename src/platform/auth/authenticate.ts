import { type DecodedJwt, decodeJwt, verifyRs256 } from '../../lib/jwt.js';
import { expiringLru, setUntil } from '../../lib/lru.js';
import { sha256Hex } from '../../lib/secrets.js';
import type { Db } from '../db/database.js';
import type { ApplicationRow, ApplicationScope } from '../db/schema.js';
import { AppError } from '../errors.js';
import { platformIssuer, tenantIssuerPrefix } from '../issuers.js';
import { type KeyStore, SIGNING_ALG } from '../keys.js';
import { DPOP_SIGNING_ALGS, DpopProofError, type ProofReplayStore, verifyDpopProof } from './dpop.js';
import type { AdminRole, Principal } from './principal.js';
import { issuedBeforeRotation } from './secret-rotation.js';
import { isSubjectActive, isTokenRevoked } from './token-liveness.repository.js';

const CLOCK_SKEW_SECONDS = 30;
/** A verified token is re-checked against the database (application, tenant, user still live) this often. */
const LIVENESS_TTL_MS = 60_000;
const ROLES: readonly AdminRole[] = ['super_admin', 'partner_admin', 'tenant_admin'];
const APP_SCOPES: readonly ApplicationScope[] = ['GLOBAL', 'PARTNER', 'TENANT'];

const invalidToken = (why: string) =>
  new AppError('UNAUTHORIZED', why, { 'www-authenticate': 'Bearer error="invalid_token"' });

/**
 * A 401 for a request that used (or had to use) the DPoP scheme, with the RFC 9449 §7.1 challenge:
 * `WWW-Authenticate: DPoP error=…, error_description=…, algs=…`. `error` is the OAuth error code
 * (userinfo answers it in its RFC 6750 body).
 */
export class DpopChallenge extends AppError {
  constructor(
    readonly error: 'invalid_token' | 'invalid_dpop_proof',
    description: string,
  ) {
    super('UNAUTHORIZED', description, {
      'www-authenticate': `DPoP error="${error}", error_description="${description.replace(/["\\]/g, '')}", algs="${DPOP_SIGNING_ALGS.join(' ')}"`,
    });
  }
}

/** The key a token is bound to (RFC 9449 §6.1 `cnf.jkt`), or null for a bearer token. */
export function boundKeyOf(claims: Readonly<Record<string, unknown>>): string | null {
  const cnf = claims.cnf;
  if (!cnf || typeof cnf !== 'object') return null;
  const jkt = (cnf as Record<string, unknown>).jkt;
  return typeof jkt === 'string' && jkt !== '' ? jkt : null;
}

/** What `authenticate` reads of a request (a FastifyRequest fits). */
export interface PresentedRequest {
  headers: { authorization?: string; dpop?: string | string[] };
  method: string;
  /** The request target as received (path and query). */
  url: string;
}

const optionalString = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);

/** RFC 9068 §2.1: access tokens are typed `at+jwt` (the `application/` prefix may be left out, RFC 7515 §4.1.9). */
const ACCESS_TOKEN_TYPE = /^(application\/)?at\+jwt$/i;

/** A token that passed the verifier: who it speaks for, and its claims as signed. */
export interface VerifiedToken {
  principal: Principal;
  claims: Readonly<Record<string, unknown>>;
}

/** Where the liveness check reads what a token depends on (modules provide them; platform imports none). */
export interface TokenLivenessSources {
  /** A live, active application whose partner and tenant are live and active (applications repository). */
  findUsableClient(clientId: string): Promise<ApplicationRow | undefined>;
  /** The admin role a user holds now (admin-roles module), to check a token's `role` claim. */
  currentRole(
    tenantId: string,
    userId: string,
  ): Promise<{ role: AdminRole; partnerId: string | null; tenantId: string | null } | null>;
  /** Whether the sign-in (oidc-provider grant) a user token came from is still there (oauth module). */
  grantIsLive(grantId: string): Promise<boolean>;
  /** OpenID Connect scopes (openid, profile, …): granted to any client, so never in allowed_scopes. */
  identityScopes: ReadonlySet<string>;
}

/**
 * The one access-token verifier (conventions.md): the management API, userinfo, introspection and
 * token exchange all accept a token only through `verify`. It checks the token itself (our own RS256
 * signature, `typ: at+jwt`, issuer, expiry, subject and client) and then, in one liveness check,
 * everything the token depends on: not revoked; its application usable (live, active, owners live
 * and active), the token's claims and scopes still within it, and not minted before the client
 * secret was last rotated; for user tokens the user live and ACTIVE in a live, active tenant and
 * partner, the admin role it carries still held, and the sign-in (grant) it came from not ended.
 *
 * A bounded cache keyed by the token's digest keeps all of that off the hot path (ADR 0003); it is
 * emptied whenever anything a token depends on changes (on this instance directly, on others by
 * NOTIFY), and a verification that overlapped such a change is not cached.
 */
export class TokenVerifier {
  readonly #cache = expiringLru<string, VerifiedToken>(10_000);
  /** Bumped by every invalidation: a result computed across one is not cached. */
  #generation = 0;
  readonly #platformIssuer: string;
  readonly #tenantIssuerPrefix: string;
  /** SCAIKEY_PUBLIC_URL without a trailing slash: what DPoP proofs' `htu` is compared with. */
  readonly #publicBase: string;
  /** Where the `jti`s of DPoP proofs are remembered (set once the shared store is up). */
  #replay: ProofReplayStore | null = null;

  constructor(
    private readonly sources: TokenLivenessSources,
    private readonly db: Db,
    private readonly keys: KeyStore,
    publicUrl: string,
  ) {
    this.#platformIssuer = platformIssuer(publicUrl);
    this.#tenantIssuerPrefix = tenantIssuerPrefix(publicUrl);
    this.#publicBase = publicUrl.replace(/\/+$/, '');
  }

  /**
   * The store that remembers DPoP proofs for every instance (the rate limiter's shared counters,
   * which are set up after the verifier). Until it is set, DPoP-bound tokens are refused.
   */
  useReplayStore(store: ProofReplayStore): void {
    this.#replay = store;
  }

  /** Forgets every verified token (after any change that may end a token's validity). */
  invalidate(): void {
    this.#generation++;
    this.#cache.clear();
  }

  /**
   * Authenticates a request by its `Authorization` header and returns the principal, or throws a
   * 401 AppError. `Bearer <token>` (RFC 6750) for bearer tokens; `DPoP <token>` with a `DPoP` proof
   * header (RFC 9449 §7) for tokens bound to a key (`cnf.jkt`). A bound token presented as Bearer
   * is refused, and so is a bearer token presented with the DPoP scheme (§7.2): the scheme says
   * which checks the client expects. Bearer tokens cost one property read more than before.
   */
  async authenticate(request: PresentedRequest): Promise<Principal> {
    const header = request.headers.authorization;
    if (!header) throw new AppError('UNAUTHORIZED', 'Not authenticated');
    const match = /^(Bearer|DPoP)[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
    if (!match) throw invalidToken('Authorization header must be "Bearer <token>" or "DPoP <token>"');
    const token = match[2] as string;
    if ((match[1] as string).toLowerCase() === 'bearer') {
      const verified = await this.verify(token);
      if (boundKeyOf(verified.claims)) {
        throw new DpopChallenge(
          'invalid_token',
          'This access token is bound to a DPoP key: present it as "DPoP <token>" with a DPoP proof',
        );
      }
      return verified.principal;
    }

    let verified: VerifiedToken;
    try {
      verified = await this.verify(token);
    } catch (error) {
      if (error instanceof AppError && error.status === 401)
        throw new DpopChallenge('invalid_token', error.detail);
      throw error;
    }
    const boundKey = boundKeyOf(verified.claims);
    if (!boundKey) {
      throw new DpopChallenge(
        'invalid_token',
        'This access token is not DPoP-bound: present it as "Bearer <token>"',
      );
    }
    try {
      await this.checkProof({
        header: request.headers.dpop,
        method: request.method,
        url: this.#publicBase + requestPath(request.url),
        accessToken: { token, boundKey },
      });
    } catch (error) {
      if (error instanceof DpopProofError) throw new DpopChallenge('invalid_dpop_proof', error.message);
      throw error;
    }
    return verified.principal;
  }

  /**
   * Checks a DPoP proof against the shared replay memory (dpop.ts `verifyDpopProof`; `url` is the
   * absolute public URL of the request) and returns its key's thumbprint. Throws DpopProofError for
   * a bad proof, a 503 AppError when the replay memory does not answer (a proof is never accepted
   * unchecked). Token endpoints that ScaiKey answers itself (token exchange) use it too.
   */
  async checkProof(options: {
    header: string | string[] | undefined;
    method: string;
    url: string;
    accessToken?: { token: string; boundKey: string };
  }): Promise<string> {
    const replay = this.#replay;
    if (!replay) throw new AppError('SERVICE_UNAVAILABLE', 'DPoP proofs cannot be checked yet');
    try {
      return await verifyDpopProof({ ...options, replay });
    } catch (error) {
      if (error instanceof DpopProofError) throw error;
      // The replay check could not be made: refuse rather than accept a proof that may be replayed.
      throw new AppError('SERVICE_UNAVAILABLE', 'DPoP proofs cannot be checked right now; try again');
    }
  }

  /**
   * Verifies an access token and checks that it is live; throws a 401 AppError saying why not.
   * Callers that serve one issuer (userinfo, introspection, token exchange) compare `claims.iss`.
   */
  async verify(token: string): Promise<VerifiedToken> {
    const cacheKey = sha256Hex(token);
    const now = Date.now();
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;

    const generation = this.#generation;
    const verified = await this.#verify(token, now);
    await this.#assertLive(verified.principal);
    if (generation === this.#generation) {
      setUntil(
        this.#cache,
        cacheKey,
        verified,
        Math.min(verified.principal.expiresAt, now + LIVENESS_TTL_MS),
        now,
      );
    }
    return verified;
  }

  /**
   * The claims of a token signed by us with a key we still publish (nothing else checked: not the
   * type, issuer or expiry), or null. Revocation uses it: a dead token may still be revoked.
   */
  async signedClaims(token: string): Promise<Record<string, unknown> | null> {
    const decoded = decodeJwt(token);
    return decoded && (await this.#signedByUs(decoded)) ? decoded.payload : null;
  }

  async #signedByUs(decoded: DecodedJwt): Promise<boolean> {
    // Algorithm allow-list: only what we sign with (no "none", no HS* with a public key).
    if (decoded.header.alg !== SIGNING_ALG || typeof decoded.header.kid !== 'string') return false;
    const key = await this.keys.verificationKey(decoded.header.kid);
    return !!key && verifyRs256(decoded, key.publicKey);
  }

  async #verify(token: string, now: number): Promise<VerifiedToken> {
    const decoded = decodeJwt(token);
    if (!decoded) throw invalidToken('Malformed token');
    const { header, payload } = decoded;
    if (header.alg !== SIGNING_ALG) throw invalidToken('Token algorithm not accepted');
    if (typeof header.kid !== 'string') throw invalidToken('Token has no key id');
    if (!(await this.#signedByUs(decoded))) throw invalidToken('Invalid token signature');
    // An ID token (or any other JWT we sign) is not an access token (RFC 9068 §4).
    if (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPE.test(header.typ)) {
      throw invalidToken('Not an access token');
    }

    const iss = payload.iss;
    if (
      typeof iss !== 'string' ||
      (iss !== this.#platformIssuer && !iss.startsWith(this.#tenantIssuerPrefix))
    ) {
      throw invalidToken('Token issuer not accepted');
    }
    const exp = payload.exp;
    if (typeof exp !== 'number' || exp * 1000 <= now - CLOCK_SKEW_SECONDS * 1000)
      throw invalidToken('Token has expired');
    if (typeof payload.nbf === 'number' && payload.nbf * 1000 > now + CLOCK_SKEW_SECONDS * 1000) {
      throw invalidToken('Token is not valid yet');
    }
    const sub = optionalString(payload.sub);
    const clientId = optionalString(payload.client_id);
    if (!sub || !clientId) throw invalidToken('Token lacks sub or client_id');
    const isUser = sub !== clientId && sub.startsWith('usr_');
    const role = ROLES.includes(payload.role as AdminRole) ? (payload.role as AdminRole) : null;
    const appScope = APP_SCOPES.includes(payload.app_scope as ApplicationScope)
      ? (payload.app_scope as ApplicationScope)
      : null;
    const aud = payload.aud;
    const audience =
      typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((x) => typeof x === 'string') : [];
    return {
      claims: payload,
      principal: {
        subject: sub,
        kind: isUser ? 'user' : 'application',
        clientId,
        scopes: new Set(typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []),
        platformToken: payload.platform_token === true,
        appScope,
        role: isUser ? role : null,
        partnerId: optionalString(payload.partner_id),
        tenantId: optionalString(payload.tenant_id),
        tokenId: optionalString(payload.jti),
        audience,
        issuedAt: typeof payload.iat === 'number' ? payload.iat : null,
        grantId: isUser ? optionalString(payload.grant_id) : null,
        expiresAt: exp * 1000,
      },
    };
  }

  /** The liveness check: everything the token depends on still exists and allows it. */
  async #assertLive(principal: Principal): Promise<void> {
    if (principal.tokenId) {
      const revoked = await isTokenRevoked(this.db, principal.tokenId);
      if (revoked) throw invalidToken('Token was revoked');
    }
    const application = await this.sources.findUsableClient(principal.clientId);
    if (!application) throw invalidToken('Token is no longer valid');
    const rotatedAt = application.secret_rotated_at;
    if (
      rotatedAt &&
      (principal.issuedAt === null || issuedBeforeRotation(principal.issuedAt, rotatedAt.getTime()))
    ) {
      throw invalidToken('Token was issued before the client secret was rotated');
    }
    // The scopes must still be allowed to the application (removing one from allowed_scopes takes it
    // from issued tokens too); OpenID Connect scopes are granted to every client.
    const allowed = new Set(application.allowed_scopes);
    const identity = principal.kind === 'user' ? this.sources.identityScopes : new Set<string>();
    if ([...principal.scopes].some((scope) => !allowed.has(scope) && !identity.has(scope))) {
      throw invalidToken('Token does not match its application');
    }

    if (principal.kind === 'application') {
      // Claims of a client token must agree with the application they name.
      if (
        principal.appScope !== application.scope ||
        (principal.partnerId ?? null) !== application.partner_id ||
        (principal.tenantId ?? null) !== application.tenant_id
      ) {
        throw invalidToken('Token does not match its application');
      }
      return;
    }

    if (!principal.tenantId) throw invalidToken('User token lacks tenant_id');
    const user = await isSubjectActive(this.db, principal.tenantId, principal.subject);
    if (!user) throw invalidToken('Token is no longer valid');
    if (principal.role) {
      // A revoked or expired admin role ends the rights of tokens that still carry it.
      const held = await this.sources.currentRole(principal.tenantId, principal.subject);
      const same =
        held?.role === principal.role &&
        (held.role !== 'partner_admin' || held.partnerId === principal.partnerId);
      if (!same) throw invalidToken('The admin role of this token is no longer held');
    }
    // Signing out, an authorization code used twice (RFC 6749 §4.1.2), a refresh token presented
    // again, or an administrator ending the user's sessions removes the grant: its tokens end too.
    if (principal.grantId && !(await this.sources.grantIsLive(principal.grantId))) {
      throw invalidToken('The sign-in of this token has ended');
    }
  }
}

/** The path of a request target (origin-form, or the path of an absolute-form target), without query or fragment. */
function requestPath(target: string): string {
  if (!target.startsWith('/')) return URL.canParse(target) ? new URL(target).pathname : '/';
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

import { sql } from 'kysely';
import { decodeJwt, verifyRs256 } from '../../lib/jwt.js';
import { ExpiringLru } from '../../lib/lru.js';
import { sha256Hex } from '../../lib/secrets.js';
import type { Db } from '../db/database.js';
import type { ApplicationRow, ApplicationScope } from '../db/schema.js';
import { AppError } from '../errors.js';
import { platformIssuer, tenantIssuerPrefix } from '../issuers.js';
import { type KeyStore, SIGNING_ALG } from '../keys.js';
import type { AdminRole, Principal } from './principal.js';

const CLOCK_SKEW_SECONDS = 30;
/** A verified token is re-checked against the database (application, tenant, user still live) this often. */
const LIVENESS_TTL_MS = 60_000;
const ROLES: readonly AdminRole[] = ['super_admin', 'partner_admin', 'tenant_admin'];
const APP_SCOPES: readonly ApplicationScope[] = ['GLOBAL', 'PARTNER', 'TENANT'];

const invalidToken = (why: string) =>
  new AppError('UNAUTHORIZED', why, { 'www-authenticate': 'Bearer error="invalid_token"' });

const optionalString = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);

/**
 * Verifies bearer tokens of the management API: our own RS256 signature, issuer, expiry and that
 * the application, tenant and user behind the token are still live. A bounded cache keyed by the
 * token's digest keeps all of that off the hot path; it is emptied whenever a tenant, partner,
 * application or user changes state (on this instance directly, on others by NOTIFY).
 */
export class TokenVerifier {
  readonly #cache = new ExpiringLru<string, Principal>(10_000);
  readonly #platformIssuer: string;
  readonly #tenantIssuerPrefix: string;

  constructor(
    /** A live, active application whose partner and tenant are live and active (applications repository). */
    private readonly findUsableClient: (clientId: string) => Promise<ApplicationRow | undefined>,
    /** The admin role a user holds now (admin-roles module), to check a token's `role` claim. */
    private readonly currentRole: (
      tenantId: string,
      userId: string,
    ) => Promise<{ role: AdminRole; partnerId: string | null; tenantId: string | null } | null>,
    private readonly db: Db,
    private readonly keys: KeyStore,
    publicUrl: string,
  ) {
    this.#platformIssuer = platformIssuer(publicUrl);
    this.#tenantIssuerPrefix = tenantIssuerPrefix(publicUrl);
  }

  /** Forgets every verified token (after any change that may end a token's validity). */
  invalidate(): void {
    this.#cache.clear();
  }

  /** Parses an Authorization header value and returns the principal, or throws a 401 AppError. */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw new AppError('UNAUTHORIZED', 'Not authenticated');
    const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
    if (!match) throw invalidToken('Authorization header must be "Bearer <token>"');
    const token = match[1] as string;
    const cacheKey = sha256Hex(token);
    const now = Date.now();
    const cached = this.#cache.get(cacheKey, now);
    if (cached) return cached;

    const principal = await this.#verify(token, now);
    await this.#assertLive(principal);
    this.#cache.set(cacheKey, principal, Math.min(principal.expiresAt, now + LIVENESS_TTL_MS));
    return principal;
  }

  async #verify(token: string, now: number): Promise<Principal> {
    const decoded = decodeJwt(token);
    if (!decoded) throw invalidToken('Malformed token');
    const { header, payload } = decoded;
    // Algorithm allow-list: only what we sign with (no "none", no HS* with a public key).
    if (header.alg !== SIGNING_ALG) throw invalidToken('Token algorithm not accepted');
    if (typeof header.kid !== 'string') throw invalidToken('Token has no key id');
    const key = await this.keys.verificationKey(header.kid);
    if (!key || !verifyRs256(decoded, key.publicKey)) throw invalidToken('Invalid token signature');

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
    return {
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
      expiresAt: exp * 1000,
    };
  }

  /** The application (and for user tokens the tenant and user) must still exist and be active. */
  async #assertLive(principal: Principal): Promise<void> {
    if (principal.tokenId) {
      const revoked = await this.db
        .selectFrom('revoked_tokens')
        .select('jti')
        .where('jti', '=', principal.tokenId)
        .executeTakeFirst();
      if (revoked) throw invalidToken('Token was revoked');
    }
    const application = await this.findUsableClient(principal.clientId);
    if (!application) throw invalidToken('Token is no longer valid');

    if (principal.kind === 'application') {
      // Claims of a client token must agree with the application they name, and its scopes must
      // still be allowed (removing a scope from allowed_scopes takes it from issued tokens too).
      const allowed = new Set(application.allowed_scopes);
      if (
        principal.appScope !== application.scope ||
        (principal.partnerId ?? null) !== application.partner_id ||
        (principal.tenantId ?? null) !== application.tenant_id ||
        [...principal.scopes].some((scope) => !allowed.has(scope))
      ) {
        throw invalidToken('Token does not match its application');
      }
      return;
    }

    if (!principal.tenantId) throw invalidToken('User token lacks tenant_id');
    const user = await this.db
      .selectFrom('users as u')
      .innerJoin('tenants as t', 't.id', 'u.tenant_id')
      .innerJoin('partners as p', 'p.id', 't.partner_id')
      .select(sql<number>`1`.as('one'))
      .where('u.tenant_id', '=', principal.tenantId)
      .where('u.id', '=', principal.subject)
      .where('u.deleted_at', 'is', null)
      .where('u.status', '=', 'ACTIVE')
      .where('t.deleted_at', 'is', null)
      .where('t.status', '=', 'ACTIVE')
      .where('p.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!user) throw invalidToken('Token is no longer valid');
    if (principal.role) {
      // A revoked or expired admin role ends the rights of tokens that still carry it.
      const held = await this.currentRole(principal.tenantId, principal.subject);
      const same =
        held?.role === principal.role &&
        (held.role !== 'partner_admin' || held.partnerId === principal.partnerId);
      if (!same) throw invalidToken('The admin role of this token is no longer held');
    }
  }
}

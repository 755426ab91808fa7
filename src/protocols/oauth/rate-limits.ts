import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { isId } from '../../lib/ids.js';
import { AppError } from '../../platform/errors.js';
import {
  clientAddress,
  describeWait,
  type FailureLimit,
  type FailureSubject,
  hashedSubject,
  type RateLimits,
  type RequestLimit,
} from '../../platform/rate-limit/limits.js';
import { basicCredentials } from './client-authentication.js';
import { OAuthError, TemporarilyUnavailable } from './errors.js';

/**
 * What the OAuth endpoints count and how they answer a limit (docs/api-decisions.md, "Rate
 * limits"): 429 with Retry-After and an RFC 6749 body `temporarily_unavailable` at the token,
 * introspection and revocation endpoints, a page on the hosted sign-in pages.
 */

export function rateLimitedOAuthError(seconds: number): OAuthError {
  return new TemporarilyUnavailable(`too many requests; retry after ${seconds} seconds`, {
    status: 429,
    headers: { 'retry-after': String(seconds), 'cache-control': 'no-store' },
  });
}

/**
 * The client id a request presents (HTTP Basic or the client_id field), unjudged: the limits need
 * it before, and whatever, the client authentication decides.
 */
export function presentedClientId(
  authorization: string | undefined,
  params: URLSearchParams | null,
): string | null {
  const basic = basicCredentials(authorization);
  if (basic !== undefined) return basic?.clientId ?? null;
  return params?.get('client_id') ?? null;
}

function oauthPerIp(limit: RequestLimit): onRequestHookHandler {
  return async (request, reply) => {
    const wait = await limit(request);
    if (wait === 0) return;
    const error = rateLimitedOAuthError(wait);
    reply.code(429).headers(error.headers).send(error.body());
    return reply;
  };
}

/**
 * The token endpoints (both paths: the native client_credentials grant and the hand-over to
 * oidc-provider), introspection and revocation. Every request counts per IP (generous, leased
 * hits: a successful grant rarely waits for the store); failed client authentications count per
 * client id and IP, and per IP. A successful grant costs no round trip for the failure limits:
 * `refusal` answers from what this instance has seen, and a block made on another instance is
 * learnt at the next failure here (docs/api-decisions.md).
 */
export class OAuthRateLimits {
  /** onRequest hook of the token routes: runs before the body is read or anything handed over. */
  readonly token: onRequestHookHandler;
  /** onRequest hook of the introspection routes. */
  readonly introspection: onRequestHookHandler;
  readonly #perClient: FailureLimit;
  readonly #perIp: FailureLimit;

  readonly #limits: RateLimits;

  constructor(limits: RateLimits) {
    this.#limits = limits;
    this.token = oauthPerIp(limits.perIp('tokenPerIp'));
    this.introspection = oauthPerIp(limits.perIp('introspectionPerIp'));
    this.#perClient = limits.failures('clientFailuresPerClient');
    this.#perIp = limits.failures('clientFailuresPerIp');
  }

  /**
   * Per client id *and* IP: anyone may learn a client id (it travels in browser URLs), so a
   * count per client id alone would let anybody lock an application out of its tokens.
   */
  #clientSubject(clientId: string | null, ip: string): string | null {
    return clientId !== null && isId('application', clientId) ? `${clientId}|${ip}` : null;
  }

  /** The 429 to answer instead of authenticating the client, or null (no round trip). */
  refusal(request: FastifyRequest, clientId: string | null): OAuthError | null {
    const ip = clientAddress(request);
    const client = this.#clientSubject(clientId, ip);
    const wait = Math.max(this.#perIp.blocked(ip), client ? this.#perClient.blocked(client) : 0);
    return wait > 0 ? rateLimitedOAuthError(wait) : null;
  }

  /** Counts a failed client authentication; the seconds to wait when it went over a limit. */
  async #countFailure(request: FastifyRequest, clientId: string | null): Promise<number> {
    const ip = clientAddress(request);
    const client = this.#clientSubject(clientId, ip);
    const subjects: FailureSubject[] = [[this.#perIp, ip]];
    if (client) subjects.push([this.#perClient, client]);
    return Math.max(...(await this.#limits.countFailures(subjects)));
  }

  /** After an OAuth error: counts `invalid_client`; the error to answer (a 429 once over a limit). */
  async afterError(request: FastifyRequest, clientId: string | null, error: unknown): Promise<unknown> {
    if (!(error instanceof OAuthError) || error.error !== 'invalid_client') return error;
    const wait = await this.#countFailure(request, clientId);
    return wait > 0 ? rateLimitedOAuthError(wait) : error;
  }

  /** A request handed over to oidc-provider: its 401 (invalid_client) counts as a failure. */
  watchHandOver(request: FastifyRequest, reply: FastifyReply, clientId: string | null): void {
    reply.raw.once('finish', () => {
      if (reply.raw.statusCode === 401) void this.#countFailure(request, clientId);
    });
  }
}

function refuseSignIn(reply: FastifyReply, seconds: number): never {
  reply.header('retry-after', String(seconds));
  throw new AppError(
    'RATE_LIMITED',
    `Too many sign-in attempts. Wait ${describeWait(seconds)}, then try again.`,
    { 'retry-after': String(seconds) },
  );
}

/**
 * The password step of the hosted sign-in (each attempt costs an argon2id hash): every attempt
 * per IP, and failures per IP (password spraying) and per account (tenant and email, known or
 * not, any IP). A failure is counted *before* the password is checked and given back when the
 * answer is not a 401, so concurrent attempts cannot pass the limit together. Over a limit: the
 * tenant's "Sign-in problem" page, 429, Retry-After.
 */
export class SignInRateLimits {
  readonly onRequest: onRequestHookHandler;
  readonly preHandler: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  readonly onResponse: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

  constructor(limits: RateLimits) {
    const perIp = limits.perIp('signInPerIp');
    const failuresPerIp = limits.failures('signInFailuresPerIp');
    const failuresPerAccount = limits.failures('signInFailuresPerAccount');
    const counted = new WeakMap<FastifyRequest, FailureSubject[]>();

    this.onRequest = async (request, reply) => {
      const wait = await perIp(request);
      if (wait > 0) refuseSignIn(reply, wait);
    };

    this.preHandler = async (request, reply) => {
      const { tenant_slug } = request.params as { tenant_slug: string };
      const email = (request.body as Record<string, unknown> | undefined)?.email;
      const account = hashedSubject(
        tenant_slug,
        String(email ?? '')
          .trim()
          .toLowerCase(),
      );
      const subjects: FailureSubject[] = [
        [failuresPerIp, clientAddress(request)],
        [failuresPerAccount, account],
      ];
      const known = Math.max(...subjects.map(([limit, subject]) => limit.blocked(subject)));
      if (known > 0) refuseSignIn(reply, known);
      // Both counted in one round trip, and given back in one (issue 17).
      const waits = await limits.countFailures(subjects);
      const within = subjects.filter((_, index) => waits[index] === 0);
      const wait = Math.max(...waits);
      if (wait > 0) {
        // Not checked, so not a failure: give back what was within its limit.
        await limits.refundFailures(within);
        refuseSignIn(reply, wait);
      }
      counted.set(request, within);
    };

    this.onResponse = async (request, reply) => {
      const held = counted.get(request);
      if (!held) return;
      counted.delete(request);
      // 401 is a wrong email or password (or a refused account): it stays counted.
      if (reply.statusCode === 401) return;
      await limits.refundFailures(held);
    };
  }
}

/**
 * The email step of the platform sign-in: every POST per IP (it tells which organizations an
 * address belongs to). Over the limit: 429, Retry-After, the platform's page (hosted pages' error handler).
 */
export function emailDiscoveryRateLimit(limits: RateLimits): onRequestHookHandler {
  const perIp = limits.perIp('emailDiscoveryPerIp');
  return async (request, reply) => {
    const wait = await perIp(request);
    if (wait === 0) return;
    reply.header('retry-after', String(wait));
    throw new AppError(
      'RATE_LIMITED',
      `Too many attempts from your network. Wait ${describeWait(wait)}, then try again.`,
      { 'retry-after': String(wait) },
    );
  };
}

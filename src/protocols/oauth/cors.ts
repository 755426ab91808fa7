import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequest } from './errors.js';

/**
 * CORS of the endpoints a browser application calls itself (token, pushed authorization request,
 * revocation, introspection, userinfo), one rule whoever answers them (oidc-provider through
 * `clientBasedCORS`, or ScaiKey's own handlers): a response is readable from an origin only when
 * the application the request is for lists that origin in its `allowed_origins`. The answer then
 * carries `Access-Control-Allow-Origin: <origin>` and `Vary: Origin`; any other origin gets no
 * CORS header, and the request itself is refused with `invalid_request`, as oidc-provider does
 * (docs/security.md, "CORS").
 */

/** Response headers a browser application may read (bearer and DPoP challenges, RFC 6750 §3, RFC 9449 §8). */
export const CORS_EXPOSED_HEADERS = 'WWW-Authenticate, DPoP-Nonce';

/** How long a browser may keep a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * Whether a browser page at `origin` may read this application's answers. `null` (opaque origins)
 * never. ScaiKey's own origin (`selfOrigin`, from SCAIKEY_PUBLIC_URL) always: such a request is not
 * cross-origin (browsers send Origin on every POST), e.g. the API reference page's token button.
 */
export function originAllowed(
  allowedOrigins: readonly string[] | undefined,
  origin: string,
  selfOrigin: string,
): boolean {
  return origin === selfOrigin || (origin !== 'null' && (allowedOrigins ?? []).includes(origin));
}

/**
 * Applies the rule to a request ScaiKey answers itself, once the application is known: no Origin
 * (not a browser's cross-origin request) changes nothing; an allowed one gets its headers; any
 * other is refused like oidc-provider refuses it.
 */
export function checkCors(
  request: FastifyRequest,
  reply: FastifyReply,
  application: { id: string; allowed_origins: readonly string[] },
  selfOrigin: string,
): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  reply.header('vary', 'Origin');
  if (!originAllowed(application.allowed_origins, origin, selfOrigin)) {
    throw new InvalidRequest(`origin ${origin} not allowed for client: ${application.id}`);
  }
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', CORS_EXPOSED_HEADERS);
}

/**
 * A CORS preflight (OPTIONS with Access-Control-Request-Method). It carries no credentials and no
 * body, so the application is not known yet: the origin passes when some application that signs
 * in at this provider lists it (`registered`); the actual request is then checked against its own
 * application. Anything else gets 204 without CORS headers, which the browser treats as a refusal.
 */
export async function answerPreflight(
  request: FastifyRequest,
  reply: FastifyReply,
  methods: readonly string[],
  registered: (origin: string) => Promise<boolean>,
): Promise<FastifyReply> {
  reply.header('vary', 'Origin');
  const origin = request.headers.origin;
  const method = request.headers['access-control-request-method'];
  if (
    origin !== undefined &&
    origin !== 'null' &&
    typeof method === 'string' &&
    methods.includes(method.toUpperCase()) &&
    (await registered(origin))
  ) {
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-methods', methods.join(', '));
    const headers = request.headers['access-control-request-headers'];
    if (typeof headers === 'string' && headers) reply.header('access-control-allow-headers', headers);
    reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE));
  }
  return reply.code(204).send();
}

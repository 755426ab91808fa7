import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from '../../lib/jwt.js';
import {
  originRegistered as applicationOriginRegistered,
  type UsableClientCache,
} from '../../modules/applications/index.js';
import { findLiveTenantBySlug } from '../../modules/tenants/index.js';
import {
  boundKeyOf,
  DpopChallenge,
  type TokenVerifier,
  type VerifiedToken,
} from '../../platform/auth/authenticate.js';
import type { Db } from '../../platform/db/database.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import type { AuditBuffer } from '../../platform/events/audit-buffer.js';
import { recordAudit } from '../../platform/events/audit-log.js';
import type { Invalidation } from '../../platform/invalidation.js';
import { platformIssuer } from '../../platform/issuers.js';
import type { KeyStore } from '../../platform/keys.js';
import { discardRequestBody } from '../../platform/request-body.js';
import { ErrorSchema } from '../../platform/schemas.js';
import { answered, next, runSteps, type Step } from '../steps.js';
import { findActiveUser, userClaims } from './accounts.js';
import { ClientAuthenticator, CONFIDENTIAL_TYPES } from './client-authentication.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { answerPreflight, CORS_EXPOSED_HEADERS, checkCors } from './cors.js';
import { providerRoutes, tenantAcceptsClient } from './endpoints.js';
import {
  InsufficientScope,
  InvalidClient,
  InvalidRequest,
  InvalidToken,
  OAuthError,
  sendOAuthError,
} from './errors.js';
import {
  AuthorizationParamsSchema,
  BearerErrorSchema,
  browserEndpointResponses,
  CLIENT_AUTH_NOTE,
  clientAuthentication,
  DiscoverySchema,
  EndSessionParamsSchema,
  FORM,
  IntrospectionRequestSchema,
  IntrospectionResponseSchema,
  JwksSchema,
  OAuthErrorSchema,
  PushedAuthorizationResponseSchema,
  RevocationRequestSchema,
  RevocationResponse,
  SlugParams,
  TokenRequestSchema,
  TokenResponseSchema,
  UserinfoResponseSchema,
} from './oauth.schemas.js';
import type { MountedProvider, OidcProviders } from './providers.js';
import { type OAuthRateLimits, presentedClientId } from './rate-limits.js';
import { insertRevokedToken } from './revoked-tokens.repository.js';
import { userGrant } from './user-grants.js';

export const PLATFORM_OAUTH_PREFIX = '/api/v1/platform/oauth';
const TENANT_PREFIX = '/api/v1/auth/tenants/:tenant_slug';
const TOKEN_BODY_LIMIT = 56 * 1024;

export interface OAuthRoutesOptions {
  audit: AuditBuffer;
  clients: UsableClientCache;
  db: Db;
  keys: KeyStore;
  providers: OidcProviders;
  verifier: TokenVerifier;
  invalidation: Invalidation;
  publicUrl: string;
  nativeClientCredentials: boolean;
  /** Answer ordinary authorization_code and refresh_token grants natively (user-grants.ts). */
  nativeUserGrants: boolean;
  rateLimits: OAuthRateLimits;
}

type RawRequest = IncomingMessage & { baseUrl?: string; originalUrl?: string; body?: string };

/**
 * Reads a small request body (token requests) with plain events: cheaper than async iteration.
 * A body over `limit` is an RFC 6749 `invalid_request` with status 413, given once the rest has
 * been read and dropped (see discardRequestBody); the connection is then closed.
 */
function readBody(raw: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        raw.removeListener('data', onData);
        raw.removeListener('end', onEnd);
        const tooLarge = new InvalidRequest('request body too large', { status: 413 });
        discardRequestBody(raw).then(() => reject(tooLarge));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () =>
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      );
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', reject);
  });
}

/**
 * The failures every client-authenticated endpoint (token, PAR, introspection, revocation) can
 * answer, in RFC 6749's body; a tenant's (`tenant`) also 404 for an unknown tenant.
 */
const clientEndpointFailures = (tenant: boolean) => ({
  400: OAuthErrorSchema,
  401: OAuthErrorSchema,
  ...(tenant ? { 404: ErrorSchema } : {}),
  413: OAuthErrorSchema,
  429: OAuthErrorSchema,
});

/** `/oauth/token` → `TokenPreflight`: the operation id of an endpoint's CORS preflight. */
const preflightName = (route: string) =>
  `${(route.split('/').pop() ?? '').replace(/^./, (first) => first.toUpperCase())}Preflight`;

const PREFLIGHT_DESCRIPTION =
  "Answers a browser's CORS preflight: Access-Control-Allow-Origin for an origin that an application signing in " +
  'here lists in allowed_origins, no CORS headers otherwise. The actual request is then allowed only for its own ' +
  "application's allowed_origins (docs/security.md).";

const TOKEN_DESCRIPTION =
  'OAuth 2.0 token endpoint (RFC 6749), application/x-www-form-urlencoded. Grants: client_credentials (HTTP ' +
  'Basic or client_id/client_secret form fields; optional scope, default all allowed scopes)';

/** Introspection and revocation as documented: a form body, client authentication, RFC 6749 errors. */
const introspectionSchema = (tags: string[], params?: typeof SlugParams) => ({
  tags,
  summary: 'Introspection (RFC 7662)',
  description: `Whether a token is live, and its claims. ${CLIENT_AUTH_NOTE}`,
  ...(params ? { params } : {}),
  consumes: [FORM],
  documentedBody: IntrospectionRequestSchema,
  security: clientAuthentication,
  response: {
    200: IntrospectionResponseSchema,
    ...clientEndpointFailures(!!params),
  },
});
const revocationSchema = (tags: string[], params?: typeof SlugParams) => ({
  tags,
  summary: 'Revocation (RFC 7009)',
  description: `Revokes an access or refresh token of the client. ${CLIENT_AUTH_NOTE}`,
  ...(params ? { params } : {}),
  consumes: [FORM],
  documentedBody: RevocationRequestSchema,
  security: clientAuthentication,
  response: {
    200: {
      description: RevocationResponse.description,
      content: { 'text/plain': { schema: RevocationResponse } },
    },
    ...clientEndpointFailures(!!params),
  },
});

/**
 * Public OAuth routes: the platform provider and the tenants' providers (oidc-provider, mounted by
 * handing the raw request over), the native client_credentials grant at each token URL,
 * ScaiKey's own userinfo and the JWT-aware halves of introspection and revocation, and the JWKS.
 */
export async function oauthRoutes(app: FastifyInstance, options: OAuthRoutesOptions): Promise<void> {
  const { db, keys, providers, rateLimits } = options;
  const publicUrl = new URL(options.publicUrl);
  const findClient = (id: string) => options.clients.find(id);
  const clientAuthenticator = new ClientAuthenticator(findClient);

  // oidc-provider reads the body itself: nothing on these routes may parse it first.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  async function tenantProvider(request: FastifyRequest): Promise<MountedProvider> {
    const { tenant_slug } = request.params as { tenant_slug: string };
    const mounted = await providers.forSlug(tenant_slug);
    if (!mounted) throw new AppError('NOT_FOUND', 'Tenant not found');
    return mounted;
  }

  function handOver(request: FastifyRequest, reply: FastifyReply, mounted: MountedProvider, body?: string) {
    reply.hijack();
    // Fastify keeps the first value it reads: the access log then shows the URL as received.
    void request.originalUrl;
    const raw = request.raw as RawRequest;
    const path = (raw.url ?? '/').slice(
      mounted.mountPath.length - publicUrl.pathname.replace(/\/+$/, '').length,
    );
    raw.url = path || '/';
    raw.baseUrl = mounted.mountPath;
    delete raw.originalUrl;
    if (body !== undefined) raw.body = body;
    // Pin the URLs oidc-provider builds to SCAIKEY_PUBLIC_URL, whatever Host the client sent.
    raw.headers['x-forwarded-host'] = publicUrl.host;
    raw.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    reply.raw.setHeader('x-request-id', request.id);
    mounted.callback(raw, reply.raw);
  }

  async function formBody(request: FastifyRequest): Promise<{ body: string; params: URLSearchParams }> {
    const body = await readBody(request.raw, TOKEN_BODY_LIMIT);
    return { body, params: new URLSearchParams(body) };
  }

  const accepts = (mounted: Pick<MountedProvider, 'tenant'>) => (application: ApplicationRow) =>
    mounted.tenant
      ? tenantAcceptsClient(mounted.tenant, application) && application.scope !== 'GLOBAL'
      : application.scope === 'GLOBAL';

  /** Whether an application that signs in at this provider lists the origin (CORS preflights). */
  const originRegistered = (mounted: Pick<MountedProvider, 'tenant'>) => (origin: string) =>
    applicationOriginRegistered(
      db,
      origin,
      mounted.tenant ? { tenantId: mounted.tenant.id, partnerId: mounted.tenant.partner_id } : null,
    );

  /** The CORS preflight of a browser-callable endpoint (cors.ts). */
  const preflight =
    (
      methods: readonly string[],
      target: (request: FastifyRequest) => Promise<Pick<MountedProvider, 'tenant'>>,
    ) =>
    async (request: FastifyRequest, reply: FastifyReply) =>
      answerPreflight(request, reply, methods, originRegistered(await target(request)));

  /** What the token endpoint's steps share: the request, whose endpoint it is, the form once read. */
  interface TokenRequest {
    request: FastifyRequest;
    reply: FastifyReply;
    target: Pick<MountedProvider, 'issuer' | 'tenant'>;
    /** The provider itself is only built when the request goes to it. */
    mount: () => Promise<MountedProvider>;
    form?: { body: string; params: URLSearchParams };
    clientId: string | null;
  }

  /**
   * The token endpoint, grant by grant (docs/adr/0011-sign-in-step-pipeline.md): native
   * client_credentials and the ordinary authorization_code and refresh_token grants at a tenant's
   * issuer (user-grants.ts, docs/adr/0016-native-user-grants.md) are answered here; everything
   * else — token exchange (oidc-provider calls token-exchange.ts), DPoP, and every user grant the
   * native path does not take, failures included — is oidc-provider's.
   */
  const tokenSteps: readonly Step<TokenRequest>[] = [
    // Native path off: oidc-provider then takes HTTP Basic client authentication only, and the
    // body need not be read here.
    (token) => {
      if (options.nativeClientCredentials) return next();
      const { request, reply } = token;
      const clientId = presentedClientId(request.headers.authorization, null);
      const refused = rateLimits.refusal(request, clientId);
      if (refused) return answered(sendOAuthError(request, reply, refused));
      rateLimits.watchHandOver(request, reply, clientId);
      return token.mount().then((mounted) => answered(handOver(request, reply, mounted)));
    },
    async (token) => {
      try {
        token.form = await formBody(token.request);
      } catch (error) {
        return answered(sendOAuthError(token.request, token.reply, error));
      }
      token.clientId = presentedClientId(token.request.headers.authorization, token.form.params);
      return next();
    },
    (token) => {
      const refused = rateLimits.refusal(token.request, token.clientId);
      return refused ? answered(sendOAuthError(token.request, token.reply, refused)) : next();
    },
    // grant_type=client_credentials, answered natively (bearer tokens only: a request with a DPoP
    // proof goes to oidc-provider, which checks the proof and binds the token, RFC 9449 §5).
    async ({ request, reply, target, form, clientId }) => {
      const formEncoded = /^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '');
      if (
        form?.params.get('grant_type') !== 'client_credentials' ||
        !formEncoded ||
        request.headers.dpop !== undefined
      ) {
        return next();
      }
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      try {
        const granted = await clientCredentialsGrant({
          params: form.params,
          authorization: request.headers.authorization,
          clients: clientAuthenticator,
          keys,
          issuer: target.issuer,
          acceptsClient: accepts(target),
          checkClient: (application) => checkCors(request, reply, application, publicUrl.origin),
        });
        options.audit.pushCounted(
          { actorType: 'api', actorId: granted.clientId, ipAddress: request.ip, requestId: request.id },
          {
            action: 'token.issued',
            resourceType: 'application',
            resourceId: granted.clientId,
            tenantId: target.tenant?.id ?? null,
            partnerId: target.tenant?.partner_id ?? null,
            after: { grant_type: 'client_credentials', scope: granted.response.scope ?? null },
          },
        );
        return answered(reply.send(granted.response));
      } catch (error) {
        return answered(
          sendOAuthError(request, reply, await rateLimits.afterError(request, clientId, error)),
        );
      }
    },
    // grant_type=authorization_code and refresh_token at a tenant's issuer, answered natively when
    // the request is the ordinary one (user-grants.ts; docs/adr/0016-native-user-grants.md): bearer
    // tokens, no browser origin. Anything else, failures included, goes on to oidc-provider.
    async ({ request, reply, target, form }) => {
      const grantType = form?.params.get('grant_type');
      if (
        !options.nativeUserGrants ||
        !form ||
        !target.tenant ||
        (grantType !== 'authorization_code' && grantType !== 'refresh_token') ||
        !/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '') ||
        request.headers.dpop !== undefined ||
        request.headers.origin !== undefined
      ) {
        return next();
      }
      const granted = await userGrant({
        db,
        keys,
        issuer: target.issuer,
        tenant: target.tenant,
        clients: clientAuthenticator,
        params: form.params,
        authorization: request.headers.authorization,
      });
      if (!granted) return next();
      options.audit.push(
        { actorType: 'user', actorId: granted.accountId, ipAddress: request.ip, requestId: request.id },
        {
          action: 'token.issued',
          resourceType: 'application',
          resourceId: granted.clientId,
          tenantId: target.tenant.id,
          partnerId: target.tenant.partner_id,
          after: { grant_type: granted.grantType },
        },
      );
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return answered(reply.send(granted.response));
    },
    // Every other grant is oidc-provider's; it reads the already-consumed body from req.body.
    async ({ request, reply, mount, form, clientId }) => {
      rateLimits.watchHandOver(request, reply, clientId);
      return answered(handOver(request, reply, await mount(), form?.body));
    },
  ];

  const tokenEndpoint = (
    request: FastifyRequest,
    reply: FastifyReply,
    target: Pick<MountedProvider, 'issuer' | 'tenant'>,
    mount: () => Promise<MountedProvider>,
  ) => runSteps(tokenSteps, { request, reply, target, mount, clientId: null });

  /** Client authentication for introspection and revocation (confidential clients of this provider). */
  async function authenticatedClient(
    request: FastifyRequest,
    params: URLSearchParams,
    mounted: MountedProvider,
  ) {
    let clientId: string | null = null;
    try {
      const { application } = await clientAuthenticator.authenticate(request.headers.authorization, params, {
        beforeLookup: (presented) => {
          clientId = presented;
          const refused = rateLimits.refusal(request, presented);
          if (refused) throw refused;
        },
      });
      const usable =
        (mounted.tenant
          ? tenantAcceptsClient(mounted.tenant, application)
          : application.scope === 'GLOBAL') && CONFIDENTIAL_TYPES.has(application.application_type);
      if (!usable) throw new InvalidClient('the application is not a confidential client of this issuer');
      return application;
    } catch (error) {
      if (clientId === null) throw error;
      throw await rateLimits.afterError(request, clientId, error);
    }
  }

  /**
   * RFC 7662 for JWT access tokens, through the one verifier: active only while the token passes its
   * liveness check (not revoked or expired; user, application, tenant and sign-in still live; not
   * older than the last secret rotation). Refresh tokens (opaque) go on to oidc-provider.
   */
  async function introspection(request: FastifyRequest, reply: FastifyReply, mounted: MountedProvider) {
    try {
      const { body, params } = await formBody(request);
      const token = params.get('token');
      if (!token || !decodeJwt(token)) return clientAuthHandOver(request, reply, mounted, body, params);
      checkCors(request, reply, await authenticatedClient(request, params, mounted), publicUrl.origin);
      reply.header('cache-control', 'no-store');
      let verified: VerifiedToken;
      try {
        verified = await options.verifier.verify(token);
      } catch (error) {
        if (error instanceof AppError) return reply.send({ active: false });
        throw error;
      }
      if (verified.claims.iss !== mounted.issuer) return reply.send({ active: false });
      // RFC 7662 §2.2 token_type, and the key a DPoP-bound token is bound to (`cnf`, RFC 9449 §6.2).
      const tokenType = boundKeyOf(verified.claims) ? 'DPoP' : 'Bearer';
      return reply.send({ active: true, ...verified.claims, token_type: tokenType });
    } catch (error) {
      return sendOAuthError(request, reply, error);
    }
  }

  /** Introspection and revocation of opaque tokens: oidc-provider authenticates the client, limited as here. */
  function clientAuthHandOver(
    request: FastifyRequest,
    reply: FastifyReply,
    mounted: MountedProvider,
    body: string,
    params: URLSearchParams,
  ) {
    const clientId = presentedClientId(request.headers.authorization, params);
    const refused = rateLimits.refusal(request, clientId);
    if (refused) return sendOAuthError(request, reply, refused);
    rateLimits.watchHandOver(request, reply, clientId);
    return handOver(request, reply, mounted, body);
  }

  /** RFC 7009 for JWT access tokens: their jti is refused until they expire. */
  async function revocation(request: FastifyRequest, reply: FastifyReply, mounted: MountedProvider) {
    try {
      const { body, params } = await formBody(request);
      const token = params.get('token');
      // Signature only: a token that is not live any more may still be revoked (it could come back).
      const claims = token ? await options.verifier.signedClaims(token) : null;
      if (!claims || claims.iss !== mounted.issuer)
        return clientAuthHandOver(request, reply, mounted, body, params);
      const client = await authenticatedClient(request, params, mounted);
      checkCors(request, reply, client, publicUrl.origin);
      // A client revokes only its own tokens; for others the answer is the same 200 (RFC 7009 §2.2).
      if (
        claims.client_id === client.id &&
        typeof claims.jti === 'string' &&
        typeof claims.exp === 'number'
      ) {
        await db.transaction().execute(async (trx) => {
          await insertRevokedToken(trx, claims.jti as string, new Date((claims.exp as number) * 1000));
          await options.invalidation.publish(trx, `token:${claims.jti}`);
          await recordAudit(
            trx,
            { actorType: 'api', actorId: client.id, ipAddress: request.ip, requestId: request.id },
            {
              action: 'token.revoked',
              resourceType: 'token',
              resourceId: claims.jti as string,
              tenantId: mounted.tenant?.id ?? null,
              partnerId: mounted.tenant?.partner_id ?? null,
              after: { sub: claims.sub ?? null, client_id: claims.client_id ?? null },
            },
          );
        });
        options.invalidation.local(`token:${claims.jti}`);
      }
      return reply.code(200).send('');
    } catch (error) {
      return sendOAuthError(request, reply, error);
    }
  }

  /** OIDC Core §5.3 userinfo for the JWT access tokens this tenant issues. */
  async function userinfo(request: FastifyRequest, reply: FastifyReply, mounted: MountedProvider) {
    const scheme = /^dpop /i.test(request.headers.authorization ?? '') ? 'DPoP' : 'Bearer';
    // Before the client is known: like a preflight, a registered origin of this tenant may read why.
    const exposeToTenantOrigins = async () => {
      const origin = request.headers.origin;
      if (origin === undefined) return;
      reply.header('vary', 'Origin');
      if (await originRegistered(mounted)(origin)) {
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-expose-headers', CORS_EXPOSED_HEADERS);
      }
    };
    const refuse = async (error: OAuthError) => {
      await exposeToTenantOrigins();
      return sendOAuthError(request, reply, error);
    };
    const invalid = (description: string) =>
      refuse(
        new InvalidToken(description, {
          headers: {
            'www-authenticate': `${scheme} error="invalid_token", error_description="${description}"`,
          },
        }),
      );
    let principal: Awaited<ReturnType<TokenVerifier['authenticate']>>;
    try {
      principal = await options.verifier.authenticate(request);
    } catch (error) {
      // DPoP refusals say what to fix (RFC 9449 §7.1): the proof, or the scheme.
      if (error instanceof DpopChallenge) {
        return refuse(new OAuthError(error.error, error.detail, { status: 401, headers: error.headers }));
      }
      if (error instanceof AppError && error.status === 503) throw error;
      return invalid('access token missing, invalid or expired');
    }
    if (principal.kind !== 'user' || !mounted.tenant || principal.tenantId !== mounted.tenant.id) {
      return invalid('not a user access token of this tenant');
    }
    // From here the answer is about the token's application: only its allowed origins may read it.
    const application = await findClient(principal.clientId);
    if (!application) return invalid('the application is no longer active');
    try {
      checkCors(request, reply, application, publicUrl.origin);
    } catch (error) {
      return sendOAuthError(request, reply, error);
    }
    if (!principal.scopes.has('openid')) {
      return sendOAuthError(
        request,
        reply,
        new InsufficientScope('the openid scope is required', {
          headers: { 'www-authenticate': `${scheme} error="insufficient_scope"` },
        }),
      );
    }
    const user = await findActiveUser(db, mounted.tenant.id, principal.subject);
    if (!user) return invalid('the user is no longer active');
    reply.header('cache-control', 'no-store');
    return reply.send(await userClaims(db, user, principal.scopes));
  }

  const platformRoutes = providerRoutes(false);
  const platformTarget = { issuer: platformIssuer(options.publicUrl), tenant: null };
  const tenantRoutes = providerRoutes(true);

  // ——— platform flavour ———
  app.post(
    `${PLATFORM_OAUTH_PREFIX}${platformRoutes.token}`,
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Token',
        description: `${TOKEN_DESCRIPTION}. ${CLIENT_AUTH_NOTE}`,
        consumes: [FORM],
        documentedBody: TokenRequestSchema,
        security: clientAuthentication,
        response: {
          200: TokenResponseSchema,
          ...clientEndpointFailures(false),
        },
      },
      onRequest: rateLimits.token,
    },
    async (request, reply) => tokenEndpoint(request, reply, platformTarget, () => providers.platform()),
  );
  app.post(
    `${PLATFORM_OAUTH_PREFIX}${platformRoutes.introspection}`,
    {
      schema: introspectionSchema(['Platform OAuth']),
      onRequest: rateLimits.introspection,
    },
    async (request, reply) => introspection(request, reply, await providers.platform()),
  );
  app.post(
    `${PLATFORM_OAUTH_PREFIX}${platformRoutes.revocation}`,
    { schema: revocationSchema(['Platform OAuth']) },
    async (request, reply) => revocation(request, reply, await providers.platform()),
  );
  for (const [route, methods] of [
    [platformRoutes.token, ['POST']],
    [platformRoutes.introspection, ['POST']],
    [platformRoutes.revocation, ['POST']],
  ] as const) {
    app.options(
      `${PLATFORM_OAUTH_PREFIX}${route}`,
      {
        schema: {
          tags: ['Platform OAuth'],
          summary: `CORS preflight of ${route}`,
          operationId: `platform${preflightName(route)}`,
          description: PREFLIGHT_DESCRIPTION,
        },
      },
      preflight(methods, async () => platformTarget),
    );
  }
  app.get(
    `${PLATFORM_OAUTH_PREFIX}/.well-known/openid-configuration`,
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Platform OpenID Provider configuration',
        operationId: 'platformDiscovery',
        response: { 200: DiscoverySchema },
      },
    },
    async (request, reply) => handOver(request, reply, await providers.platform()),
  );
  app.all(`${PLATFORM_OAUTH_PREFIX}/*`, { schema: { hide: true } }, async (request, reply) =>
    handOver(request, reply, await providers.platform()),
  );

  // ——— tenant flavour ———
  app.get(
    `${TENANT_PREFIX}/.well-known/openid-configuration`,
    {
      schema: {
        tags: ['OIDC'],
        summary: 'Tenant OpenID Provider configuration',
        operationId: 'tenantDiscovery',
        params: SlugParams,
        response: { 200: DiscoverySchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => handOver(request, reply, await tenantProvider(request)),
  );
  app.post(
    `${TENANT_PREFIX}${tenantRoutes.token}`,
    {
      schema: {
        tags: ['OIDC'],
        summary: 'Token',
        description: `${TOKEN_DESCRIPTION}; authorization_code (PKCE), refresh_token (rotated), token exchange (RFC 8693). ${CLIENT_AUTH_NOTE}`,
        params: SlugParams,
        consumes: [FORM],
        documentedBody: TokenRequestSchema,
        security: clientAuthentication,
        response: {
          200: TokenResponseSchema,
          ...clientEndpointFailures(true),
        },
      },
      onRequest: rateLimits.token,
    },
    async (request, reply) => {
      const mounted = await tenantProvider(request);
      return tokenEndpoint(request, reply, mounted, async () => mounted);
    },
  );
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: `${TENANT_PREFIX}${tenantRoutes.userinfo}`,
      schema: {
        tags: ['OIDC'],
        summary: 'UserInfo',
        operationId: method === 'GET' ? 'userInfo' : 'userInfoPost',
        description:
          'OIDC Core §5.3: the claims of the user a tenant access token (scope openid) belongs to.',
        params: SlugParams,
        security: [{ bearerAuth: [] }],
        response: {
          200: UserinfoResponseSchema,
          401: {
            ...BearerErrorSchema,
            description: 'Missing, invalid or expired access token (WWW-Authenticate)',
            examples: [
              { error: 'invalid_token', error_description: 'access token missing, invalid or expired' },
            ],
          },
          403: {
            ...BearerErrorSchema,
            description: 'The token lacks the openid scope',
            examples: [{ error: 'insufficient_scope', error_description: 'the openid scope is required' }],
          },
          404: ErrorSchema,
        },
      },
      handler: async (request, reply) => userinfo(request, reply, await tenantProvider(request)),
    });
  }
  app.post(
    `${TENANT_PREFIX}${tenantRoutes.introspection}`,
    {
      schema: introspectionSchema(['OIDC'], SlugParams),
      onRequest: rateLimits.introspection,
    },
    async (request, reply) => introspection(request, reply, await tenantProvider(request)),
  );
  app.post(
    `${TENANT_PREFIX}${tenantRoutes.revocation}`,
    { schema: revocationSchema(['OIDC'], SlugParams) },
    async (request, reply) => revocation(request, reply, await tenantProvider(request)),
  );
  app.post(
    `${TENANT_PREFIX}${tenantRoutes.pushed_authorization_request}`,
    {
      schema: {
        tags: ['OIDC'],
        summary: 'Pushed authorization request (RFC 9126)',
        description:
          'The parameters of an authorization request, pushed by the client with its authentication ' +
          '(public clients send client_id). Answers 201 {request_uri, expires_in}; the authorization ' +
          `endpoint then takes client_id and request_uri. ${CLIENT_AUTH_NOTE}`,
        params: SlugParams,
        consumes: [FORM],
        documentedBody: AuthorizationParamsSchema,
        security: clientAuthentication,
        response: {
          201: PushedAuthorizationResponseSchema,
          ...clientEndpointFailures(true),
        },
      },
      onRequest: rateLimits.token,
    },
    async (request, reply) => {
      const mounted = await tenantProvider(request);
      try {
        const { body, params } = await formBody(request);
        return clientAuthHandOver(request, reply, mounted, body, params);
      } catch (error) {
        return sendOAuthError(request, reply, error);
      }
    },
  );
  for (const [route, methods] of [
    [tenantRoutes.token, ['POST']],
    [tenantRoutes.pushed_authorization_request, ['POST']],
    [tenantRoutes.introspection, ['POST']],
    [tenantRoutes.revocation, ['POST']],
    [tenantRoutes.userinfo, ['GET', 'POST']],
  ] as const) {
    app.options(
      `${TENANT_PREFIX}${route}`,
      {
        schema: {
          tags: ['OIDC'],
          summary: `CORS preflight of ${route}`,
          operationId: `tenant${preflightName(route)}`,
          description: PREFLIGHT_DESCRIPTION,
          params: SlugParams,
        },
      },
      preflight(methods, tenantProvider),
    );
  }
  // The browser endpoints oidc-provider serves, declared so that the document shows them; the
  // provider reads and checks their parameters (errors go back to the client, never a 422).
  const browserEndpoint = (
    url: string,
    operationId: string,
    tags: string[],
    parameters: typeof AuthorizationParamsSchema | typeof EndSessionParamsSchema,
    description: string,
    mount: (request: FastifyRequest) => Promise<MountedProvider>,
  ) => {
    const tenantFlavour = url.startsWith(TENANT_PREFIX);
    const summary = operationId
      .replace(/^(platform|tenant)/, '')
      .replace(/^./, (first) => first.toUpperCase());
    for (const method of ['GET', 'POST'] as const) {
      app.route({
        method,
        url,
        schema: {
          tags,
          summary: method === 'GET' ? summary : `${summary} (form post)`,
          operationId: method === 'GET' ? operationId : `${operationId}Post`,
          description,
          ...(tenantFlavour ? { params: SlugParams } : {}),
          ...(method === 'GET'
            ? { documentedQuery: parameters }
            : { consumes: [FORM], documentedBody: parameters }),
          response: tenantFlavour ? browserEndpointResponses : platformBrowserResponses,
        },
        handler: async (request, reply) => handOver(request, reply, await mount(request)),
      });
    }
  };
  const { 404: _noTenant, ...platformBrowserResponses } = browserEndpointResponses;
  const SIGN_IN = 'OIDC Core §3.1.2: starts a sign-in.';
  const LOG_OUT = 'OIDC RP-Initiated Logout 1.0: ends the session.';
  browserEndpoint(
    `${TENANT_PREFIX}${tenantRoutes.authorization}`,
    'authorize',
    ['OIDC'],
    AuthorizationParamsSchema,
    SIGN_IN,
    tenantProvider,
  );
  browserEndpoint(
    `${TENANT_PREFIX}${tenantRoutes.end_session}`,
    'logout',
    ['OIDC'],
    EndSessionParamsSchema,
    LOG_OUT,
    tenantProvider,
  );
  app.all(`${TENANT_PREFIX}/oauth/*`, { schema: { hide: true } }, async (request, reply) =>
    handOver(request, reply, await tenantProvider(request)),
  );

  // ——— keys ———
  const jwks = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'public, max-age=300');
    return keys.jwks();
  };
  app.get(
    '/api/v1/platform/.well-known/jwks.json',
    {
      schema: {
        tags: ['Platform OAuth'],
        summary: 'Platform JWKS',
        operationId: 'platformJwks',
        response: { 200: JwksSchema },
      },
    },
    jwks,
  );
  app.get(
    `${TENANT_PREFIX}/.well-known/jwks.json`,
    {
      schema: {
        tags: ['OIDC'],
        summary: 'Tenant JWKS',
        operationId: 'tenantJwks',
        description: 'The same keys as the platform JWKS; 404 for a slug that is not a live tenant.',
        params: SlugParams,
        response: { 200: JwksSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { tenant_slug } = request.params as { tenant_slug: string };
      const tenant = await findLiveTenantBySlug(db, tenant_slug);
      if (!tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
      return jwks(request, reply);
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { findLiveTenantBySlug } from '../../../modules/tenants/index.js';
import type { Db } from '../../../platform/db/database.js';
import { AppError, notFound } from '../../../platform/errors.js';
import { ErrorSchema } from '../../../platform/schemas.js';
import type { Federation } from '../federation.js';
import { oidcConfig } from './kind.js';
import { discover, handleCallback, UpstreamOidcError } from './upstream.js';

export interface OidcCallbackRoutesOptions {
  db: Db;
  federation: Federation;
  /** SCAIKEY_FEDERATION_ALLOW_HTTP: providers may be reached over plain http (tests, development). */
  allowHttp: boolean;
}

const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096, description: 'The authorization code' })),
    state: Type.Optional(Type.String({ maxLength: 512, description: 'The sign-in this answers' })),
    error: Type.Optional(
      Type.String({ maxLength: 256, description: 'The provider’s refusal (RFC 6749 §4.1.2.1)' }),
    ),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
    iss: Type.Optional(Type.String({ maxLength: 2048, description: 'RFC 9207: the issuer that answered' })),
  },
  // Providers add their own parameters (Google: scope, authuser, prompt, hd; Entra: session_state).
  { additionalProperties: true },
);

/**
 * `GET /api/v1/auth/tenants/{tenant_slug}/federation/oidc/callback` (docs/federation-oidc.md): the
 * upstream provider's answer to a sign-in started from the sign-in page. The login is found by its
 * `state` (a login answered once, or expired, is not found: a replayed callback is refused); the
 * code is exchanged with the login's PKCE verifier and the ID token checked with its nonce; the
 * identity, or why the answer was refused, goes to the federation core, and the browser continues
 * at the sign-in (303), which provisions the user or shows the refusal.
 */
export async function oidcCallbackRoutes(
  app: FastifyInstance,
  options: OidcCallbackRoutesOptions,
): Promise<void> {
  const { db, federation } = options;
  app.get<{ Params: { tenant_slug: string }; Querystring: Record<string, string | undefined> }>(
    '/api/v1/auth/tenants/:tenant_slug/federation/oidc/callback',
    {
      schema: {
        tags: ['Federation'],
        summary: 'Callback from an upstream OpenID provider',
        description:
          'Where an upstream OpenID provider sends the browser back (authorization code flow with PKCE). Checks the answer (state, RFC 9207 iss, the ID token’s signature, iss, aud, exp and nonce; the provider’s own `error` and `error_description`), then continues the sign-in (303), which creates or updates the local user. A callback whose sign-in is unknown, expired or already answered is refused (400 `FEDERATION_FAILED`).',
        params: Type.Object({ tenant_slug: Type.String({ maxLength: 255 }) }),
        querystring: CallbackQuery,
        response: {
          303: { description: 'On to the sign-in (Location)', type: 'null' },
          400: ErrorSchema,
          404: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const tenant = await findLiveTenantBySlug(db, request.params.tenant_slug);
      if (!tenant) throw notFound('Tenant');
      const state = request.query.state;
      if (!state) {
        const upstream = request.query.error ? ` The provider answered ${request.query.error}.` : '';
        throw new AppError(
          'FEDERATION_FAILED',
          `The callback has no state: it answers no sign-in.${upstream}`,
        );
      }
      const login = await federation.pending(tenant.id, state);
      if (!login) {
        throw new AppError(
          'FEDERATION_FAILED',
          'This sign-in was already answered or has expired. Start again from the application.',
        );
      }
      const provider = await federation.enabledProvider(tenant.id, login.identity_provider_id);
      let answer: Parameters<Federation['answered']>[2];
      if (provider?.type !== 'OIDC') {
        answer = { error: 'The identity provider is no longer enabled' };
      } else if (!login.nonce || !login.code_verifier) {
        answer = { error: 'This sign-in was not started for an OpenID provider' };
      } else {
        // The URL the provider redirected to, as registered: openid-client sends it (without the
        // query) as the token request's redirect_uri.
        const currentUrl = new URL(federation.urls(tenant, provider).redirect_uri as string);
        currentUrl.search = new URL(request.url, 'http://callback.invalid').search;
        const config = oidcConfig(provider.config);
        try {
          const configuration = await discover(config, provider.secrets.client_secret, {
            allowInsecure: options.allowHttp,
          });
          const identity = await handleCallback(configuration, {
            currentUrl,
            expectedState: login.id,
            expectedNonce: login.nonce,
            codeVerifier: login.code_verifier,
            useUserinfo: config.use_userinfo,
            groupsClaim: config.groups_claim,
            preset: config.preset,
          });
          answer = { identity };
        } catch (error) {
          if (!(error instanceof UpstreamOidcError)) throw error;
          request.log.info(
            { idp_id: provider.id, reason: error.reason, upstream_error: error.upstream?.error },
            'upstream OpenID Connect sign-in refused',
          );
          answer = { error: error.detail };
        }
      }
      return reply.redirect(await federation.answered(tenant, login, answer), 303);
    },
  );
}

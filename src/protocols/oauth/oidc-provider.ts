import { createHash } from 'node:crypto';
import Provider, { type Configuration, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { HTML_PAGE_HEADERS } from '../../lib/html-page.js';
import { redirectUriAllowed } from '../../modules/applications/index.js';
import { noteSessionActivity } from '../../modules/sessions/index.js';
import { effectiveSettings, pageBranding, type TenantSettingsInput } from '../../modules/tenants/index.js';
import type { TokenVerifier } from '../../platform/auth/authenticate.js';
import { DPOP_SIGNING_ALGS } from '../../platform/auth/dpop.js';
import type { Db } from '../../platform/db/database.js';
import type {
  ApplicationRow,
  ApplicationScope,
  ApplicationType,
  TenantRow,
} from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import type { KeyStore } from '../../platform/keys.js';
import { SIGNING_ALG } from '../../platform/keys.js';
import { accountClientMetadata } from '../account/account-client.js';
import { type PageView, renderPage } from '../hosted-pages/pages.js';
import { ACR_MFA, ACR_VALUES } from '../sign-in/acr.js';
import { clientCredentialsClaims, issuedAfterRotation } from './access-token.js';
import { findActiveUser, OIDC_SCOPE_CLAIMS, OIDC_SCOPES, tokenRole, userClaims } from './accounts.js';
import { clientSecretMatches } from './client-authentication.js';
import { grantedScopes } from './client-credentials.js';
import { originAllowed } from './cors.js';
import { MANAGEMENT_RESOURCE, providerRoutes, tenantAcceptsClient } from './endpoints.js';
import { InvalidScope, OAuthError } from './errors.js';
import {
  batchAdapterWrites,
  createOidcAdapterClass,
  EXTRA_CLIENT_METADATA,
  TOKEN_EXCHANGE,
} from './oidc-adapter.repository.js';
import { toProviderError } from './provider-errors.js';
import { tokenExchangeHandler } from './token-exchange.js';

interface ClientMetadataView {
  client_id: string;
  scaikey_allowed_scopes: string[];
  scaikey_app_scope: ApplicationScope;
  scaikey_partner_id: string | null;
  scaikey_tenant_id: string | null;
  scaikey_token_lifetime: number;
  scaikey_application_type: ApplicationType;
  scaikey_secret_rotated_at: number | null;
  scaikey_allowed_origins: string[];
}

const metadataOf = (client: { metadata(): unknown }) => client.metadata() as ClientMetadataView;

/** Routes whose CORS follows the client's allowed_origins (cors.ts); oidc-provider's route names. */
const CLIENT_CORS_ROUTES = new Set(['token', 'pushed_authorization_request', 'revocation', 'introspection']);

/** The grants the platform issuer itself answers: user sign-in ends at a tenant's issuer (docs/api-decisions.md). */
const PLATFORM_GRANT_TYPES = new Set(['client_credentials', TOKEN_EXCHANGE]);

export interface OidcProviderOptions {
  issuer: string;
  db: Db;
  keys: KeyStore;
  /** The tenant of a tenant provider; null for the platform provider. */
  tenant: TenantRow | null;
  /**
   * The tenant's row as now (providers.ts keeps it current): settings and branding are read from
   * it per request, so that a change applies at once without rebuilding the provider.
   */
  currentTenant?: () => TenantRow | null;
  /** Where this provider is mounted, as a URL path (issuer path). */
  mountPath: string;
  cookieKeys: string[];
  /** The one access-token verifier (token exchange accepts subject tokens only through it). */
  verifier: TokenVerifier;
  /** Usable applications by client id, through the instance's client cache (issue 17). */
  findClient: (clientId: string) => Promise<ApplicationRow | undefined>;
}

/** A hosted page from inside oidc-provider: the hosted pages' templates, branding and headers. */
function sendPage(
  ctx: KoaContextWithOIDC,
  tenant: TenantRow | null,
  view: PageView,
  title: string,
  data: Record<string, unknown>,
): void {
  for (const [name, value] of Object.entries(HTML_PAGE_HEADERS)) ctx.set(name, value);
  ctx.body = renderPage(view, pageBranding(tenant), title, data);
}

/**
 * The library's self-submitting form (response_mode=form_post, and the sign-out of a previous
 * account at resume): a moment's page whose one inline script posts the form. It gets the hosted
 * pages' headers, its script allowed by its SHA-256 only (never 'unsafe-inline'), so that
 * form_post clients keep working without a click.
 */
function formPostHeaders(ctx: KoaContextWithOIDC): void {
  const body = ctx.body as string;
  if (!body.includes('<title>Submitting Callback</title>')) return;
  const script = /<script>([\s\S]*?)<\/script>/.exec(body)?.[1];
  if (script === undefined) return;
  for (const [name, value] of Object.entries(HTML_PAGE_HEADERS)) ctx.set(name, value);
  const digest = createHash('sha256').update(script).digest('base64');
  ctx.set(
    'content-security-policy',
    `${HTML_PAGE_HEADERS['content-security-policy']}; script-src 'sha256-${digest}'`,
  );
}

/**
 * The sign-out confirmation (RP-initiated logout): a plain form to the confirm endpoint with the
 * session's XSRF secret, without the library's inline script. `signedIn` false: there is no
 * session to end, the button only completes the flow (back to the application).
 */
function logoutForm(ctx: KoaContextWithOIDC, signedIn: boolean): Record<string, unknown> {
  return {
    signedIn,
    action: ctx.oidc.urlFor('end_session_confirm'),
    xsrf: String((ctx.oidc.session?.state as { secret?: unknown } | undefined)?.secret ?? ''),
  };
}

/**
 * oidc-provider's prompts plus one check of the login prompt (`mfa_step_up`): a signed-in session
 * without a second factor signs in again (the second factor only, mfa-steps.ts) when the request
 * asks for `urn:scaikey:loa:2` in acr_values or the tenant requires MFA (settings read per request).
 */
function signInPolicy(tenantNow: () => TenantRow | null) {
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.add(
    new interactionPolicy.Check('mfa_step_up', 'A second factor is required', (ctx) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId || oidc.session.amr?.includes('mfa')) return false;
      const requested = typeof oidc.params?.acr_values === 'string' ? oidc.params.acr_values.split(' ') : [];
      const tenant = tenantNow();
      const required = tenant
        ? effectiveSettings(tenant.settings as TenantSettingsInput).mfa_required
        : false;
      return requested.includes(ACR_MFA) || required;
    }),
  );
  return policy;
}

/**
 * An OpenID provider on oidc-provider: the platform one (GLOBAL applications, client_credentials,
 * discovery) or a tenant's (every flow of issue 7). All its state lives in SQL (oidc-adapter.ts),
 * access tokens are RS256 JWTs (RFC 9068) with ScaiKey's claims, identical whichever grant issued
 * them; `grant_type=client_credentials` is normally answered natively before the hand-over.
 */
export function createOidcProvider(options: OidcProviderOptions): Provider {
  const { db, tenant } = options;
  const current = () => options.currentTenant?.() ?? tenant;
  /** The tenant's session_timeout as of this request (minutes → seconds). */
  const sessionSeconds = () => {
    const row = current();
    return (row ? effectiveSettings(row.settings as TenantSettingsInput).session_timeout : 480) * 60;
  };
  const routes = providerRoutes(!!tenant);
  // ScaiKey's own origin: its pages calling these endpoints are not cross-origin requests.
  const selfOrigin = new URL(options.issuer).origin;

  const configuration: Configuration = {
    adapter: createOidcAdapterClass(
      db,
      (application) => (tenant ? tenantAcceptsClient(tenant, application) : application.scope === 'GLOBAL'),
      options.findClient,
    ),
    jwks: { keys: options.keys.privateJwks() as never },
    routes,
    // The hosted account page's sign-in (src/protocols/account/account-client.ts): not an application.
    clients: tenant ? [accountClientMetadata(options.issuer, tenant) as never] : [],
    // Only the code flow: `none` was never registered for any client (docs/api-decisions.md).
    responseTypes: ['code'],
    // `idp_hint`: go straight to one of the tenant's identity providers (docs/federation.md).
    extraParams: ['idp_hint'],
    // What the applications table can back: secrets (as digests) in the Basic header or the form
    // body, and public clients. No client JWTs: applications register no keys, and HS256 needs the
    // secret in clear.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: { dPoPSigningAlgValues: [...DPOP_SIGNING_ALGS] as never },
    scopes: [...OIDC_SCOPES],
    // acr and amr (RFC 8176) of the sign-in go into ID tokens (docs/account-security.md).
    claims: { ...OIDC_SCOPE_CLAIMS, openid: [...(OIDC_SCOPE_CLAIMS.openid ?? []), 'acr', 'amr'] },
    // ID tokens carry the claims of their scopes (email, name, groups), not only sub.
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: SIGNING_ALG,
    },
    extraClientMetadata: { properties: EXTRA_CLIENT_METADATA },
    cookies: {
      keys: options.cookieKeys,
      // Tenants share a host: each tenant's cookies stay under its own path.
      long: { path: `${options.mountPath}/`, sameSite: 'lax', httpOnly: true },
      short: { path: `${options.mountPath}/`, sameSite: 'lax', httpOnly: true },
    },
    pkce: {
      // RFC 7636 S256 is mandatory for public clients (SPA, NATIVE), optional for confidential ones.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    ttl: {
      AccessToken: (_ctx, _token, client) => (client ? metadataOf(client).scaikey_token_lifetime : 3600),
      ClientCredentials: (_ctx, _token, client) =>
        client ? metadataOf(client).scaikey_token_lifetime : 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: () => sessionSeconds(),
      Grant: () => sessionSeconds(),
      RefreshToken: () => sessionSeconds(),
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) => {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      const type = metadataOf(client).scaikey_application_type;
      return type === 'WEB' || type === 'NATIVE' || code.scopes.has('offline_access');
    },
    interactions: {
      url: (_ctx, interaction) => `${options.mountPath}/interaction/${interaction.uid}`,
      policy: signInPolicy(() => current()),
    },
    // The classes of ID tokens' acr (src/protocols/sign-in/acr.ts): acr_values asking for
    // urn:scaikey:loa:2 makes a session without a second factor give one (mfa_step_up).
    acrValues: ACR_VALUES,
    // First-party applications: consent is implied; the grant holds what the client may have.
    loadExistingGrant: async (ctx) => {
      const client = ctx.oidc.client;
      const session = ctx.oidc.session;
      if (!client || !session?.accountId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const grant =
        (grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined) ??
        new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      const requested = [...ctx.oidc.requestParamScopes];
      grant.addOIDCScope(requested.filter((scope) => OIDC_SCOPES.has(scope)).join(' '));
      const allowed = new Set(metadataOf(client).scaikey_allowed_scopes);
      const apiScopes = requested.filter((scope) => !OIDC_SCOPES.has(scope) && allowed.has(scope));
      if (apiScopes.length > 0) grant.addResourceScope(MANAGEMENT_RESOURCE, apiScopes.join(' '));
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 9449: the token endpoint binds tokens to the key of a DPoP proof (and a public client's
      // refresh tokens, §5); TokenVerifier checks the proofs wherever access tokens are used.
      dPoP: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // RFC 9126; the platform's authorization endpoint is a page that continues at a tenant's
      // issuer, where a request pushed to the platform would not be valid (docs/api-decisions.md).
      pushedAuthorizationRequests: { enabled: !!tenant, requirePushedAuthorizationRequests: false },
      rpInitiatedLogout: {
        // Sessions exist only at tenants' issuers.
        enabled: !!tenant,
        logoutSource: async (ctx) => {
          sendPage(ctx, current(), 'sign-out', 'Sign out', logoutForm(ctx, true));
        },
        postLogoutSuccessSource: async (ctx) => {
          sendPage(ctx, current(), 'notice', 'Signed out', { message: 'You are signed out.' });
        },
      },
      // userinfo is ScaiKey's own (oauth.routes.ts): it reads the JWT access tokens issued here.
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => MANAGEMENT_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx: KoaContextWithOIDC, _resource: string, client) => {
          const metadata = metadataOf(client);
          const allowed = metadata.scaikey_allowed_scopes;
          const params = ctx.oidc.params as Record<string, unknown> | undefined;
          const requested = typeof params?.scope === 'string' ? params.scope : null;
          const grantType = params?.grant_type;
          if (ctx.oidc.route === 'token' && grantType === 'client_credentials') {
            let scopes: string[];
            try {
              scopes = grantedScopes(requested, allowed);
            } catch (error) {
              if (error instanceof OAuthError) {
                throw toProviderError(
                  new InvalidScope('requested scope is not allowed', { scope: requested ?? '' }),
                );
              }
              throw error;
            }
            // No scope requested: the token carries all of the application's allowed scopes.
            if (params && !requested) params.scope = scopes.join(' ');
          } else if (requested) {
            const refused = requested
              .split(' ')
              .find((scope) => scope && !OIDC_SCOPES.has(scope) && !allowed.includes(scope));
            if (refused) {
              throw toProviderError(new InvalidScope('requested scope is not allowed', { scope: refused }));
            }
          }
          return {
            scope: allowed.filter((scope) => !OIDC_SCOPES.has(scope)).join(' '),
            audience: metadata.client_id,
            accessTokenTTL: metadata.scaikey_token_lifetime,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: SIGNING_ALG } },
          };
        },
      },
    },
    formats: {
      customizers: {
        // One claim set however the token is issued (access-token.ts; accounts.ts for users).
        jwt: async (ctx, token, jwt) => {
          const client = (token as unknown as { client: { metadata(): unknown } }).client;
          const metadata = metadataOf(client);
          const { jti, iss, sub, scope, cnf } = jwt.payload as Record<string, unknown>;
          // RFC 9449 §6.1: a DPoP-bound token keeps its confirmation (`cnf.jkt`) whatever else changes.
          const binding = cnf ? { cnf } : {};
          const issued = await issuedAfterRotation(
            jwt.payload.iat as number,
            jwt.payload.exp as number,
            metadata.scaikey_secret_rotated_at,
          );
          const accountId = (token as unknown as { accountId?: string }).accountId;
          if (!accountId || !tenant) {
            const claims = clientCredentialsClaims(
              {
                clientId: metadata.client_id,
                appScope: metadata.scaikey_app_scope,
                partnerId: metadata.scaikey_partner_id,
                tenantId: metadata.scaikey_tenant_id,
              },
              typeof scope === 'string' && scope ? scope.split(' ') : [],
            );
            jwt.payload = { jti, ...issued, iss, ...claims, ...binding };
            return;
          }
          const grantId = (token as unknown as { grantId?: string }).grantId;
          const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
          const scopes = [
            ...new Set([
              ...(grant?.getOIDCScope().split(' ') ?? []),
              ...(typeof scope === 'string' ? scope.split(' ') : []),
            ]),
          ].filter(Boolean);
          const role = await tokenRole(db, tenant, accountId);
          jwt.payload = {
            jti,
            ...issued,
            iss,
            sub,
            aud: metadata.client_id,
            client_id: metadata.client_id,
            ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
            tenant_id: tenant.id,
            partner_id: role?.partnerId ?? tenant.partner_id,
            ...(role ? { role: role.role } : {}),
            // The sign-in the token belongs to: the token ends with it (sign-out, a reused code or
            // refresh token, ended sessions), see TokenVerifier.
            ...(grantId ? { grant_id: grantId } : {}),
            ...binding,
          };
        },
      },
    },
    findAccount: async (_ctx, id) => {
      if (!tenant) return undefined;
      const user = await findActiveUser(db, tenant.id, id);
      if (!user) return undefined;
      return {
        accountId: user.id,
        claims: async (_use, scope) => userClaims(db, user, new Set(scope.split(' '))),
      };
    },
    extraTokenClaims: async () => undefined,
    renderError: async (ctx, out) => {
      const message = out.error_description ? `${out.error_description}.` : 'The request is not valid.';
      sendPage(ctx, current(), 'error', 'Sign-in problem', {
        message,
        note: `Error: ${String(out.error)}. Start again from the application.`,
      });
    },
    clientBasedCORS: (_ctx, origin, client) =>
      originAllowed(metadataOf(client).scaikey_allowed_origins, origin, selfOrigin),
  };

  const provider = new Provider(options.issuer, configuration);
  // URLs are built from X-Forwarded-* headers that the mount sets from SCAIKEY_PUBLIC_URL.
  provider.proxy = true;
  // Client secrets are stored as SHA-256 digests (panva/node-oidc-provider#631 extension point).
  provider.Client.prototype.compareClientSecret = function compareClientSecret(
    this: { clientSecret: string },
    actual: string,
  ) {
    return clientSecretMatches(this.clientSecret, actual);
  };
  // Redirect URIs match exactly, except NATIVE applications' loopback ports (RFC 8252 §7.3).
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowedByType(value: string) {
    return redirectUriAllowed(metadataOf(this).scaikey_application_type, this.redirectUris ?? [], value);
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowedByType(
    value: string,
  ) {
    return redirectUriAllowed(
      metadataOf(this).scaikey_application_type,
      this.postLogoutRedirectUris ?? [],
      value,
    );
  };
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchangeHandler({
      db,
      keys: options.keys,
      issuer: options.issuer,
      tenant,
      verifier: options.verifier,
    }),
    [
      'subject_token',
      'subject_token_type',
      'actor_token',
      'actor_token_type',
      'audience',
      'resource',
      'scope',
      'requested_token_type',
    ],
  );
  provider.use(async (ctx, next) => {
    await next();
    // Without a signed-in session the library answers end_session with a self-submitting form
    // (inline script): the same page as the confirmation instead, with a button.
    const oidc = ctx as unknown as KoaContextWithOIDC;
    if (oidc.oidc?.route === 'end_session' && ctx.status === 200 && !oidc.oidc.session?.accountId) {
      sendPage(oidc, current(), 'sign-out', 'Sign out', logoutForm(oidc, false));
    } else if (typeof ctx.body === 'string') {
      formPostHeaders(oidc);
    }
  });
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    const origin = ctx.get('Origin');
    if (origin && route && CLIENT_CORS_ROUTES.has(route)) {
      // oidc-provider allows the origin before it knows the client, and keeps it on answers where
      // no client was found (unknown client, broken authentication): only the client's own
      // allowed origins may read an answer.
      const client = ctx.oidc.client;
      if (!client || !originAllowed(metadataOf(client).scaikey_allowed_origins, origin, selfOrigin)) {
        ctx.remove('Access-Control-Allow-Origin');
        ctx.remove('Access-Control-Expose-Headers');
      }
    }
    if (route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
      const body = ctx.body as Record<string, unknown>;
      // The JWKS and userinfo are served by ScaiKey itself (same keys; JWT access tokens).
      body.jwks_uri = tenant
        ? `${options.issuer}/.well-known/jwks.json`
        : options.issuer.replace(/\/oauth$/, '/.well-known/jwks.json');
      if (tenant) body.userinfo_endpoint = `${options.issuer}${routes.userinfo}`;
      else {
        // The platform issuer issues no user tokens: no userinfo, and only the machine grants.
        body.grant_types_supported = (body.grant_types_supported as string[]).filter((grant) =>
          PLATFORM_GRANT_TYPES.has(grant),
        );
      }
      body.claims_supported = [
        ...new Set([
          ...Object.values(OIDC_SCOPE_CLAIMS).flat(),
          'tenant_id',
          'partner_id',
          'role',
          'acr',
          'amr',
        ]),
      ];
    }
  });
  if (tenant) {
    const tenantDb = bindTenant(db, tenant.id);
    provider.use(async (ctx, next) => {
      await next();
      // A session that signed in (resume) or authorized an application gets its public record,
      // with the browser's address and user agent at sign-in (the Sessions API, issue 13).
      const route = ctx.oidc?.route;
      const session = ctx.oidc?.session;
      if ((route === 'resume' || route === 'authorization') && session?.accountId && !session.destroyed) {
        await noteSessionActivity(tenantDb, {
          userId: session.accountId,
          sessionUid: session.uid,
          ipAddress: ctx.ip || null,
          userAgent: ctx.get('user-agent') || null,
        });
      }
    });
  }
  // Last, so innermost of these: the adapter upserts of a request share one statement
  // (oidc-adapter.repository.ts), written before the session's public record above.
  provider.use((_ctx, next) => batchAdapterWrites(db, next));
  return provider;
}

import type { FastifyPluginAsync } from 'fastify';
import type { UsableClientCache } from '../modules/applications/index.js';
import { healthRoutes, homeRoutes } from '../modules/health/index.js';
import type { MfaService } from '../modules/mfa/index.js';
import { findLiveTenantBySlug, pageBranding } from '../modules/tenants/index.js';
import type { TokenVerifier } from '../platform/auth/authenticate.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/database.js';
import type { AuditBuffer } from '../platform/events/audit-buffer.js';
import type { UnitOfWork } from '../platform/events/unit-of-work.js';
import type { Invalidation } from '../platform/invalidation.js';
import type { KeyStore } from '../platform/keys.js';
import type { Mailer } from '../platform/mail/mailer.js';
import type { RateLimits } from '../platform/rate-limit/limits.js';
import { accountRoutes } from '../protocols/account/account.routes.js';
import { consoleRoutes } from '../protocols/console/console.routes.js';
import type { Federation } from '../protocols/federation/federation.js';
import { federationRoutes } from '../protocols/federation/federation.routes.js';
import { oidcCallbackRoutes } from '../protocols/federation/oidc/callback.routes.js';
import { samlRoutes } from '../protocols/federation/saml/saml.routes.js';
import { registerHostedPages } from '../protocols/hosted-pages/hosted-pages.js';
import { oauthRoutes } from '../protocols/oauth/oauth.routes.js';
import type { OidcProviders } from '../protocols/oauth/providers.js';
import {
  emailDiscoveryRateLimit,
  OAuthRateLimits,
  SignInRateLimits,
} from '../protocols/oauth/rate-limits.js';
import { directLoginRoutes } from '../protocols/sign-in/direct-login.routes.js';
import { forgotPasswordRoutes } from '../protocols/sign-in/forgot-password.routes.js';
import { interactionRoutes } from '../protocols/sign-in/interactions.routes.js';
import { passwordLinkRateLimit } from '../protocols/sign-in/password-link-limits.js';
import { passwordLinkRoutes } from '../protocols/sign-in/password-links.routes.js';
import { platformLoginRoutes } from '../protocols/sign-in/platform-login.routes.js';
import { verifyEmailRoutes } from '../protocols/sign-in/verify-email.routes.js';

export interface PublicContextOptions {
  config: Config;
  db: Db;
  keys: KeyStore;
  audit: AuditBuffer;
  clients: UsableClientCache;
  providers: OidcProviders;
  verifier: TokenVerifier;
  invalidation: Invalidation;
  mailer: Mailer;
  rateLimits: RateLimits;
  cookieKey: string;
  work: UnitOfWork;
  mfa: MfaService;
  federation: Federation;
}

/**
 * The public context: what answers without a management token. Health, the home page, the admin
 * console's files (src/protocols/console), the OAuth/OpenID endpoints (discovery, JWKS, token,
 * PAR, introspection, revocation, userinfo; each authenticates its client or token itself,
 * src/protocols/oauth), and the hosted pages (sign-in,
 * the platform email step, password links), which one plugin gives views, form parsing, CSRF on
 * every POST and one error page (src/protocols/hosted-pages). A route is public only by being
 * registered here.
 */
export const publicContext: FastifyPluginAsync<PublicContextOptions> = async (app, options) => {
  const { config, db, rateLimits, mailer, invalidation, providers, cookieKey } = options;
  await app.register(healthRoutes, { db });
  await app.register(homeRoutes, { publicUrl: config.publicUrl });
  // The admin console's files (src/protocols/console, docs/console.md).
  await app.register(consoleRoutes, { publicUrl: config.publicUrl, consoleDir: config.consoleDir ?? null });
  await app.register(oauthRoutes, {
    audit: options.audit,
    clients: options.clients,
    db,
    keys: options.keys,
    providers,
    verifier: options.verifier,
    invalidation,
    publicUrl: config.publicUrl,
    nativeClientCredentials: config.nativeClientCredentials,
    nativeUserGrants: config.nativeUserGrants,
    rateLimits: new OAuthRateLimits(rateLimits),
  });
  const signInOptions = {
    db,
    providers,
    secret: cookieKey,
    rateLimits: new SignInRateLimits(rateLimits),
    mfa: options.mfa,
    work: options.work,
    federation: options.federation,
  };
  // The direct-login API: the sign-in steps answering JSON (no forms, so outside the pages).
  await app.register(directLoginRoutes, signInOptions);
  // Federation's own endpoints: the SSO buttons' list, the OIDC callback, SAML metadata and ACS
  // (cross-site posts from the IdP: outside the pages' CSRF check, checked by their signatures).
  await app.register(federationRoutes, { db, federation: options.federation });
  await app.register(oidcCallbackRoutes, {
    db,
    federation: options.federation,
    allowHttp: config.federationAllowHttp,
  });
  await app.register(samlRoutes, { db, federation: options.federation });
  await app.register(async (pages) => {
    await registerHostedPages(pages, {
      cookieSecret: cookieKey,
      secureCookies: config.publicUrl.startsWith('https:'),
      brandingOf: async (request) => {
        const slug = (request.params as { tenant_slug?: string } | undefined)?.tenant_slug;
        return pageBranding((slug ? await findLiveTenantBySlug(db, slug) : undefined) ?? null);
      },
    });
    await pages.register(interactionRoutes, signInOptions);
    await pages.register(platformLoginRoutes, {
      db,
      publicUrl: config.publicUrl,
      mailer,
      rateLimit: emailDiscoveryRateLimit(rateLimits),
    });
    await pages.register(passwordLinkRoutes, {
      db,
      invalidation,
      rateLimit: passwordLinkRateLimit(rateLimits),
    });
    await pages.register(forgotPasswordRoutes, { db, mailer, publicUrl: config.publicUrl, rateLimits });
    await pages.register(verifyEmailRoutes, { db, work: options.work });
    await pages.register(accountRoutes, {
      db,
      providers,
      work: options.work,
      mfa: options.mfa,
      publicUrl: config.publicUrl,
      verificationMails: rateLimits.failures('verifyEmailPerUser'),
      rateLimits: signInOptions.rateLimits,
    });
  });
};

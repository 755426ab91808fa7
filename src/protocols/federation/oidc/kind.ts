import type { ProviderRecord } from '../../../modules/identity-providers/index.js';
import { RequestValidationError } from '../../../platform/errors.js';
import type { ProviderKind } from '../federation.js';
import type { ProviderKindsOptions } from '../kinds.js';
import type { OidcProviderConfig } from '../types.js';
import {
  authorizationUrl,
  DEFAULT_GROUPS_CLAIM,
  DEFAULT_SCOPES,
  discover,
  forgetDiscovery,
  resolveIssuer,
  testConnection,
  UpstreamOidcError,
} from './upstream.js';

/** A stored OIDC config with the defaults the admin API fills (provider-config.schemas.ts). */
export function oidcConfig(config: Record<string, unknown>): OidcProviderConfig {
  return {
    preset: (config.preset as OidcProviderConfig['preset'] | undefined) ?? 'generic',
    issuer: String(config.issuer ?? ''),
    client_id: String(config.client_id ?? ''),
    entra_tenant_id: (config.entra_tenant_id as string | null | undefined) ?? null,
    scopes: (config.scopes as string | undefined) ?? DEFAULT_SCOPES,
    use_userinfo: config.use_userinfo === true,
    groups_claim: (config.groups_claim as string | undefined) || DEFAULT_GROUPS_CLAIM,
    token_endpoint_auth_method:
      (config.token_endpoint_auth_method as OidcProviderConfig['token_endpoint_auth_method'] | undefined) ??
      'client_secret_basic',
  };
}

/** The OIDC kind of identity provider (docs/federation-oidc.md), for the federation core. */
export function oidcKind(options: Pick<ProviderKindsOptions, 'allowHttp'>): ProviderKind {
  const discoverOptions = { allowInsecure: options.allowHttp };
  // What each provider was last discovered as, so that `forget(id)` can drop it.
  const lastUsed = new Map<string, OidcProviderConfig>();
  const configuration = (provider: ProviderRecord) => {
    const config = oidcConfig(provider.config);
    lastUsed.set(provider.id, config);
    return discover(config, provider.secrets.client_secret, discoverOptions);
  };
  return {
    /**
     * Checks what can be checked without the network (the preset's issuer, https) and stores the
     * issuer the preset stands for; reachability is `test`'s business, so that a provider can be
     * configured before it is reachable.
     */
    async prepare(config) {
      const oidc = oidcConfig(config);
      try {
        const issuer = resolveIssuer(oidc);
        const url = new URL(issuer);
        if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
          throw new UpstreamOidcError('configuration', `The issuer ${url.origin} is not https://`);
        }
        return { ...config, issuer };
      } catch (error) {
        const field = oidc.preset === 'entra' ? 'entra_tenant_id' : 'issuer';
        const msg =
          error instanceof UpstreamOidcError ? error.detail : `The issuer "${oidc.issuer}" is not a URL`;
        throw new RequestValidationError([{ loc: ['body', 'config', field], msg, type: 'value_error' }]);
      }
    },

    test: (provider) =>
      testConnection(oidcConfig(provider.config), provider.secrets.client_secret, discoverOptions),

    async start(provider, login, urls) {
      const config = oidcConfig(provider.config);
      const url = await authorizationUrl(await configuration(provider), {
        redirectUri: urls.redirect_uri as string,
        state: login.state,
        nonce: login.nonce,
        codeVerifier: login.codeVerifier,
        scopes: config.scopes,
      });
      return { url: url.href };
    },

    forget(providerId) {
      const config = lastUsed.get(providerId);
      if (config) forgetDiscovery(config);
      lastUsed.delete(providerId);
    },
  };
}

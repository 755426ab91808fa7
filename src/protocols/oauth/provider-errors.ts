import { errors } from 'oidc-provider';
import type { OAuthError } from './errors.js';

/**
 * The same error inside oidc-provider (its scope checks in oidc-provider.ts, the token-exchange
 * grant): oidc-provider renders it with its own handler, in the same body, the detail kept as its
 * `error_detail` (logged, never sent). Apart from errors.ts, which the routes load at start,
 * because only what runs inside oidc-provider needs it and oidc-provider is loaded at the first
 * provider a request needs (docs/performance.md, "Idle memory").
 */
export function toProviderError(error: OAuthError): Error {
  const converted = new errors.OIDCProviderError(
    error.status,
    error.error,
    error.detail === undefined ? undefined : { detail: error.detail },
  );
  return Object.assign(converted, {
    ...(error.scope === undefined ? {} : { scope: error.scope }),
    error_description: error.description,
    expose: error.status < 500 || error.status === 503,
  });
}

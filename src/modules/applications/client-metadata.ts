import type { ApplicationType } from '../../platform/db/schema.js';
import { RequestValidationError } from '../../platform/errors.js';
import type { ValidationIssue } from '../../platform/validation.js';

/** Hosts for which plain http is acceptable: the browser or app talks to the same machine (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A private-use URI scheme of a native app: RFC 8252 §7.1 asks for a reverse domain name
 * (`com.example.app`), which also keeps out `javascript:`, `data:`, `file:` and the like.
 */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

function issue(field: string, index: number, msg: string): ValidationIssue {
  return { loc: ['body', field, index], msg, type: 'value_error' };
}

/**
 * Why a redirect URI is refused, or null when it is acceptable. Redirect URIs are matched exactly
 * (OAuth 2.0 Security BCP, RFC 9700 §4.1.3), so wildcards are refused outright, and fragments are
 * forbidden by RFC 6749 §3.1.2.
 */
export function redirectUriProblem(value: string, type: ApplicationType): string | null {
  if (value.includes('*')) return 'Wildcards are not allowed; list every redirect URI exactly';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Input should be an absolute URL';
  }
  if (value.includes('#')) return 'A redirect URI must not contain a fragment';
  if (url.username || url.password) return 'A redirect URI must not contain credentials';
  if (url.protocol === 'https:') return url.hostname ? null : 'Input should be an absolute URL';
  if (url.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname)
      ? null
      : 'http is only allowed for localhost, 127.0.0.1 and [::1]; use https';
  }
  if (type === 'NATIVE' && PRIVATE_USE_SCHEME.test(url.protocol)) return null;
  return type === 'NATIVE'
    ? 'Use https, http on a loopback host, or a reverse-domain private-use scheme'
    : 'A redirect URI must use https (http only for localhost, 127.0.0.1 and [::1])';
}

/** Why an allowed origin is refused, or null. An origin is scheme://host[:port], exactly as browsers send it. */
export function originProblem(value: string): string | null {
  if (value.includes('*')) return 'Wildcards are not allowed; list every origin exactly';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Input should be an origin such as https://app.example.com';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    return 'An origin must use https (http only for localhost, 127.0.0.1 and [::1])';
  }
  if (url.origin !== value) return 'Input should be an origin (scheme://host[:port]) without path or slash';
  return null;
}

/** Lists as stored: duplicates dropped, first occurrence kept (the lists are sets). */
export function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export interface ClientMetadataInput {
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  allowed_origins?: string[];
}

/** Checks the URI lists of a create or update; every broken item is reported in one 422. */
export function checkClientMetadata(input: ClientMetadataInput, type: ApplicationType): void {
  const issues: ValidationIssue[] = [];
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    (input[field] ?? []).forEach((value, index) => {
      const problem = redirectUriProblem(value, type);
      if (problem) issues.push(issue(field, index, problem));
    });
  }
  (input.allowed_origins ?? []).forEach((value, index) => {
    const problem = originProblem(value);
    if (problem) issues.push(issue('allowed_origins', index, problem));
  });
  if (issues.length > 0) throw new RequestValidationError(issues);
}

/**
 * A loopback IP redirect URI without its port: `http://127.0.0.1[:port]rest` or
 * `http://[::1][:port]rest` becomes `http://127.0.0.1rest` / `http://[::1]rest`; anything else
 * (other hosts, `localhost`, credentials, https) gives null.
 */
function withoutLoopbackPort(uri: string): string | null {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::\d{1,5})?([/?].*)?$/.exec(uri);
  return match ? `http://${match[1]}${match[2] ?? ''}` : null;
}

/**
 * Whether `requested` is one of the `registered` redirect URIs. Matching is exact (RFC 9700
 * §2.1), except that a NATIVE application's loopback IP redirect URI takes any port (RFC 8252
 * §7.3: the app listens on a port the operating system picks at run time). Only the IP literals
 * `127.0.0.1` and `[::1]` count as loopback here, not `localhost` (RFC 8252 §8.3: a name can
 * resolve elsewhere); scheme, host, path and query must still match exactly.
 */
export function redirectUriAllowed(
  type: ApplicationType,
  registered: readonly string[],
  requested: string,
): boolean {
  if (registered.includes(requested)) return true;
  if (type !== 'NATIVE') return false;
  const bare = withoutLoopbackPort(requested);
  return bare !== null && registered.some((uri) => withoutLoopbackPort(uri) === bare);
}

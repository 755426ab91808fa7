import { isId } from '../../lib/ids.js';
import { secretMatchesDigest } from '../../lib/secrets.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
import { InvalidClient, InvalidRequest } from './errors.js';

/** How a client authenticated (RFC 6749 §2.3.1; `none`: a public client, RFC 7636 PKCE then binds its code). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface PresentedClient {
  clientId: string;
  clientSecret: string | null;
}

export interface AuthenticatedClient {
  application: ApplicationRow;
  method: ClientAuthMethod;
}

/** Confidential application types: the only ones with a secret, and so with client_credentials. */
export const CONFIDENTIAL_TYPES = new Set(['WEB', 'SERVICE']);

/**
 * The client id and secret of an HTTP Basic header (RFC 6749 §2.3.1: both form-urlencoded
 * inside): undefined when the header is not Basic, null when it is malformed.
 */
export function basicCredentials(authorization: string | undefined): PresentedClient | null | undefined {
  if (!authorization || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return null;
  }
}

/**
 * Reads client authentication from HTTP Basic or from client_id/client_secret form fields; using
 * both at once is refused (RFC 6749 §2.3: one mechanism per request).
 */
export function presentedClient(authorization: string | undefined, params: URLSearchParams): PresentedClient {
  const formId = params.get('client_id');
  const formSecret = params.get('client_secret');
  const basic = basicCredentials(authorization);
  if (basic !== undefined) {
    if (formSecret !== null) {
      throw new InvalidRequest('client authentication must only be provided using one mechanism');
    }
    if (basic === null) throw new InvalidClient('malformed Basic credentials');
    if (formId !== null && formId !== basic.clientId) {
      throw new InvalidRequest('mismatch between client_id in the body and in the Authorization header');
    }
    return basic;
  }
  if (formId === null) throw new InvalidRequest('no client authentication mechanism provided');
  return { clientId: formId, clientSecret: formSecret };
}

/**
 * Whether a presented secret matches an application's stored digest (constant time). The one
 * secret comparison: ScaiKey's own endpoints and oidc-provider's `compareClientSecret` use it.
 */
export function clientSecretMatches(digest: string | null | undefined, secret: string): boolean {
  return !!digest && secretMatchesDigest(secret, digest);
}

/**
 * The one client authenticator (RFC 6749 §2.3) over the applications table: client_secret_basic,
 * client_secret_post, and `none` for public clients where the endpoint allows them. Every
 * failure is `invalid_client` with the same description; why it failed is only logged.
 */
export class ClientAuthenticator {
  constructor(private readonly findClient: (clientId: string) => Promise<ApplicationRow | undefined>) {}

  async authenticate(
    authorization: string | undefined,
    params: URLSearchParams,
    options: {
      /** Public clients (no secret) may authenticate with their client_id alone. */
      allowPublic?: boolean;
      /** Runs with the presented client id before it is looked up (rate limits). */
      beforeLookup?: (clientId: string) => void;
    } = {},
  ): Promise<AuthenticatedClient> {
    const presented = presentedClient(authorization, params);
    options.beforeLookup?.(presented.clientId);
    const application = isId('application', presented.clientId)
      ? await this.findClient(presented.clientId)
      : undefined;
    if (!application) throw new InvalidClient('no usable application has this client_id');
    if (presented.clientSecret === null) {
      const isPublic =
        !CONFIDENTIAL_TYPES.has(application.application_type) && !application.client_secret_digest;
      if (options.allowPublic && isPublic) return { application, method: 'none' };
      throw new InvalidClient('no client secret presented');
    }
    if (!clientSecretMatches(application.client_secret_digest, presented.clientSecret)) {
      throw new InvalidClient('the client secret does not match');
    }
    return {
      application,
      method: basicCredentials(authorization) ? 'client_secret_basic' : 'client_secret_post',
    };
  }
}

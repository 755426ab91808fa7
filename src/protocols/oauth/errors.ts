import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The OAuth error family: one class per error code of RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009
 * §2.2.1, RFC 7662, RFC 8693 §2.2.2 and RFC 9449 §7 that ScaiKey answers itself (oidc-provider
 * answers those of the requests handed to it, in the same body). Each carries the HTTP status,
 * the `error_description` sent to the client, and an optional `detail` that is only logged (the
 * reason a client must not learn, e.g. which check of its authentication failed). One function,
 * {@link sendOAuthError}, renders them (docs/adr/0011-sign-in-step-pipeline.md).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  // RFC 6749 §4.1.2.1's code for an overloaded server, answered with 429 when rate limited
  // (docs/api-decisions.md, "Rate limits").
  | 'temporarily_unavailable';

export interface OAuthErrorOptions {
  status?: number;
  headers?: Record<string, string>;
  /** Logged with the refusal, never sent. */
  detail?: string;
  /** The refused scope of an invalid_scope inside oidc-provider, which adds it to its body. */
  scope?: string;
}

/** An OAuth error answered as `{ error, error_description }` with its status and headers. */
export class OAuthError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly detail: string | undefined;
  readonly scope: string | undefined;

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(description);
    this.name = 'OAuthError';
    this.status = options.status ?? 400;
    this.headers = options.headers ?? {};
    this.detail = options.detail;
    this.scope = options.scope;
  }

  body() {
    return { error: this.error, error_description: this.description };
  }
}

/** RFC 6749 §5.2: a missing or repeated parameter, a malformed or too large request. */
export class InvalidRequest extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_request', description, options);
  }
}

/** RFC 6749 §5.2: client authentication failed (401; the reason goes to the log only). */
export class InvalidClient extends OAuthError {
  constructor(detail?: string, options: OAuthErrorOptions = {}) {
    super('invalid_client', 'client authentication failed', { status: 401, detail, ...options });
  }
}

/** RFC 6749 §5.2: the grant (code, refresh token, credentials) is invalid, expired or revoked. */
export class InvalidGrant extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_grant', description, options);
  }
}

/** RFC 6749 §5.2: the client may not use this grant type. */
export class UnauthorizedClient extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unauthorized_client', description, options);
  }
}

/** RFC 6749 §5.2: the grant type is not supported here. */
export class UnsupportedGrantType extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unsupported_grant_type', description, options);
  }
}

/** RFC 6749 §5.2: a requested scope is not allowed. */
export class InvalidScope extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_scope', description, options);
  }
}

/** RFC 8693 §2.2.2 / RFC 8707 §2: the audience or resource is not acceptable. */
export class InvalidTarget extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_target', description, options);
  }
}

/** RFC 9449 §7.1: the DPoP proof is missing, malformed, replayed or does not match. */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_dpop_proof', description, options);
  }
}

/** RFC 6750 §3.1: the access token is missing, invalid, expired or revoked (401). */
export class InvalidToken extends OAuthError {
  constructor(description: string, options: OAuthErrorOptions = {}) {
    super('invalid_token', description, { status: 401, ...options });
  }
}

/** RFC 6750 §3.1: the access token lacks a scope the resource needs (403). */
export class InsufficientScope extends OAuthError {
  constructor(description: string, options: OAuthErrorOptions = {}) {
    super('insufficient_scope', description, { status: 403, ...options });
  }
}

/** RFC 7009 §2.2.1: the server cannot revoke tokens of this type. */
export class UnsupportedTokenType extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unsupported_token_type', description, options);
  }
}

/** Too many requests (429 with Retry-After) or a store out of reach (503). */
export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string, options: OAuthErrorOptions = {}) {
    super('temporarily_unavailable', description, { status: 503, ...options });
  }
}

/**
 * Renders an OAuth error: status, headers, `{ error, error_description }`, and a warning in the
 * log with the detail (rate-limited refusals are not logged one by one: a flood would flood the
 * log too). Anything that is not an OAuthError is rethrown for the app's error handler.
 */
export function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  if (!(error instanceof OAuthError)) throw error;
  if (error.status !== 429) {
    request.log.warn(
      {
        error: error.error,
        description: error.description,
        ...(error.detail ? { detail: error.detail } : {}),
      },
      'OAuth request refused',
    );
  }
  reply.headers(error.headers);
  if (error.status === 413) reply.header('connection', 'close');
  if (error.error === 'invalid_client' && /^basic /i.test(request.headers.authorization ?? '')) {
    reply.header('www-authenticate', 'Basic realm="scaikey"');
  }
  return reply.code(error.status).send(error.body());
}

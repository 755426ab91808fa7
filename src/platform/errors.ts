import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { discardRequestBody } from './request-body.js';
import { fastApiValidationDetail, type ValidationIssue } from './validation.js';

/**
 * The registry of error codes (docs/errors.md). Every non-validation error body is
 * `{ detail, code }`; the code says what went wrong for programs, the detail for people. Each code
 * has one status and a description of what it means; `npm run docs:errors` writes docs/errors.md
 * from this registry (tests/errors-docs.test.ts fails when the page differs).
 */
export const ERROR_REGISTRY = {
  UNAUTHORIZED: {
    status: 401,
    description: 'No bearer token, or one that is not valid (expired, revoked, wrong signature or issuer).',
  },
  FORBIDDEN: {
    status: 403,
    description:
      'The caller is authenticated but its role or scopes do not allow the operation (e.g. a write without `admin:write`).',
  },
  NOT_FOUND: {
    status: 404,
    description:
      'No such resource, no such route, or a resource in a tenant the caller may not see (answered exactly alike).',
  },
  SLUG_TAKEN: { status: 409, description: 'Another live partner or tenant already has this slug.' },
  EMAIL_TAKEN: {
    status: 409,
    description: 'Another live user of the tenant already has this email address.',
  },
  NAME_TAKEN: {
    status: 409,
    description:
      'A group of the tenant, or an organizational unit under the same parent, already has this name.',
  },
  LIMIT_EXCEEDED: {
    status: 409,
    description:
      "A partner's limit (`max_tenants`, `max_users_per_tenant`, `max_applications_per_tenant`) is reached.",
  },
  PARTNER_NOT_EMPTY: {
    status: 409,
    description: 'The partner still has live tenants; delete or move them first.',
  },
  OU_NOT_EMPTY: {
    status: 409,
    description:
      'The organizational unit has users or child units; move them, or delete with strategy `MOVE_UP` or `CASCADE`.',
  },
  GROUP_NOT_EMPTY: {
    status: 409,
    description:
      'The group has members or child groups; remove them, or delete with strategy `ORPHAN` or `CASCADE`.',
  },
  CONFLICT: {
    status: 409,
    description:
      'The request conflicts with existing data, or a concurrent change conflicted with it (retry the request).',
  },
  PROTECTED_RESOURCE: {
    status: 400,
    description: 'The platform partner or tenant cannot be suspended, moved or deleted.',
  },
  OU_CYCLE: {
    status: 400,
    description: 'An organizational unit cannot be moved under itself or one of its descendants.',
  },
  GROUP_CYCLE: {
    status: 400,
    description: 'A group cannot be nested in itself or in one of its descendants.',
  },
  BAD_REQUEST: {
    status: 400,
    description:
      'The request is well-formed but not acceptable as a whole; also HTTP the server cannot parse. The detail says why.',
  },
  PASSWORD_POLICY: {
    status: 400,
    description:
      "The password does not meet the tenant's password policy (its rules, or it repeats a recent password).",
  },
  CONFIRM_EMAIL_MISMATCH: {
    status: 400,
    description: "`confirm_email` does not match the user's email address.",
  },
  INVALID_STATUS_TRANSITION: {
    status: 400,
    description: 'The user cannot go from its current status to the requested one.',
  },
  INVALID_REDIRECT_URI: {
    status: 400,
    description:
      'The `redirect_uri` is not a redirect URI or allowed origin of an application of the tenant.',
  },
  INVALID_TOKEN: {
    status: 400,
    description:
      'The link token (invitation, password reset, email verification) is unknown, expired or already used.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    description: 'The path exists but not with this method; the `Allow` header lists the methods it has.',
  },
  REQUEST_TIMEOUT: { status: 408, description: 'The request (or its headers) was not received in time.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The request body is larger than 1 MiB.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The body is not of a media type the route accepts; send `application/json`.',
  },
  RATE_LIMITED: {
    status: 429,
    description: 'Too many requests; retry after the seconds in the `Retry-After` header.',
  },
  HEADERS_TOO_LARGE: { status: 431, description: 'The request headers are larger than the server accepts.' },
  INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected error; it is logged with the request id (`x-request-id`), never detailed.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    description: 'The server is shutting down, or a store it needs is not reachable; retry the request.',
  },
  PUBLIC_CLIENT: {
    status: 400,
    description: 'Public clients (SPA, NATIVE) have no client secret to rotate.',
  },
  ROLE_ALREADY_ASSIGNED: { status: 409, description: 'The user already holds this admin role.' },
  MFA_METHOD_NOT_ALLOWED: {
    status: 409,
    description: "The tenant's `settings.mfa_methods` does not allow this second-factor method.",
  },
  MFA_ALREADY_ENROLLED: {
    status: 409,
    description: 'The user already has a confirmed factor of this kind; remove it first to enroll again.',
  },
  MFA_NOT_ENROLLED: {
    status: 409,
    description:
      'There is nothing to confirm or remove: no enrollment in progress, or no confirmed factor of this kind.',
  },
  MFA_REQUIRED_BY_TENANT: {
    status: 409,
    description:
      "The tenant requires MFA (`settings.mfa_required`): the user's last factor cannot be removed.",
  },
  INVALID_MFA_CODE: {
    status: 400,
    description:
      'The one-time code is wrong, expired or already used (TOTP, emailed or backup code); the action was not taken.',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    description:
      'Direct login: the email address or the password is not correct, or the account may not sign in (the detail says which only after the right password).',
  },
  MFA_ENROLLMENT_REQUIRED: {
    status: 403,
    description:
      'Direct login: the tenant requires a second factor and the account has none; it is set up on the hosted sign-in page.',
  },
  PASSWORD_CHANGE_REQUIRED: {
    status: 403,
    description: 'Direct login: the password must be changed first, on the hosted sign-in page.',
  },
  SMS_NOT_CONFIGURED: {
    status: 409,
    description: 'No SMS sender is configured on this instance, so SMS codes cannot be enrolled or sent.',
  },
  INVALID_CURRENT_PASSWORD: {
    status: 400,
    description:
      "`current_password` is not the account's password. Counts as a failed sign-in toward the tenant's lockout.",
  },
  PASSWORD_NOT_SET: {
    status: 409,
    description: 'The account has no password to change (it signs in through an identity provider).',
  },
  EMAIL_ALREADY_VERIFIED: { status: 409, description: "The account's email address is already verified." },
  DOMAIN_TAKEN: {
    status: 409,
    description:
      'Another enabled identity provider of the tenant already claims this email domain (home-realm discovery).',
  },
  SYNC_RUNNING: {
    status: 409,
    description: 'A sync of this directory is already running (on this or another instance).',
  },
  NOT_A_DIRECTORY: {
    status: 400,
    description: 'The operation is for LDAP identity providers only (sync, sync runs).',
  },
  FEDERATION_FAILED: {
    status: 400,
    description:
      'A sign-in through an identity provider was refused: the upstream answered an error, or its answer did not pass a check (state, nonce, signature, audience, expiry, replay). The detail says which.',
  },
  DIRECTORY_UNAVAILABLE: {
    status: 503,
    description: 'The LDAP / Active Directory server did not answer; local accounts still sign in.',
  },
  LOCAL_PASSWORD_NOT_ALLOWED: {
    status: 409,
    description:
      'The user signs in through an identity provider and the tenant does not allow local passwords for such users (tenant setting `federated_local_passwords`).',
  },
  WEBAUTHN_UNAVAILABLE: {
    status: 409,
    description:
      'Passkeys cannot work on this instance: the host of `SCAIKEY_PUBLIC_URL` is an IP address, which WebAuthn does not accept as an RP ID (use a domain name, or `localhost`).',
  },
  WEBAUTHN_VERIFICATION_FAILED: {
    status: 400,
    description:
      'The WebAuthn (passkey) response does not verify: another or an expired challenge, another origin or RP ID, no user verification, or a bad signature. Nothing was enrolled or signed in.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

/** Each code and its status, the registry's statuses alone. */
export const ErrorCodes = Object.fromEntries(
  Object.entries(ERROR_REGISTRY).map(([code, { status }]) => [code, status]),
) as { readonly [Code in keyof typeof ERROR_REGISTRY]: (typeof ERROR_REGISTRY)[Code]['status'] };

export type ErrorCode = keyof typeof ErrorCodes;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = ErrorCodes[code];
  }
}

/** A validation failure found by a service (shape of the value), answered like the schema's own: 422. */
export class RequestValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super('Request validation failed');
    this.name = 'RequestValidationError';
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);

/** Unique constraints (by name, see the migrations) and the conflict each one means. */
const UNIQUE_CONSTRAINTS: Record<string, [ErrorCode, string]> = {
  tenants_slug_live_key: ['SLUG_TAKEN', 'A tenant with this slug already exists'],
  partners_slug_live_key: ['SLUG_TAKEN', 'A partner with this slug already exists'],
  users_email_live_key: ['EMAIL_TAKEN', 'A user with this email already exists in this tenant'],
  groups_name_live_key: ['NAME_TAKEN', 'A group with this name already exists in this tenant'],
  ous_sibling_name_key: [
    'NAME_TAKEN',
    'An organizational unit with this name already exists under the same parent',
  ],
};

interface PgError {
  code?: string;
  constraint?: string;
}

/** Maps a database error to an AppError when it is a known constraint violation, else null. */
export function fromDatabaseError(error: unknown): AppError | null {
  const pgError = error as PgError;
  if (pgError?.code === '23505' && pgError.constraint) {
    const known = UNIQUE_CONSTRAINTS[pgError.constraint];
    if (known) return new AppError(known[0], known[1]);
    return new AppError('CONFLICT', 'The request conflicts with existing data');
  }
  if (pgError?.code === '40001' || pgError?.code === '40P01') {
    return new AppError('CONFLICT', 'A concurrent change conflicted with this request; retry it');
  }
  return null;
}

/** Writes a `{detail, code}` error body with the status and headers of `error`. */
export function sendAppError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.status === 401 && !error.headers['www-authenticate']) reply.header('www-authenticate', 'Bearer');
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).send({ detail: error.detail, code: error.code });
}

const FRAMEWORK_ERRORS: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('PAYLOAD_TOO_LARGE', 'Request body is larger than 1 MiB'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type; send application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new AppError('BAD_REQUEST', 'Content-Length does not match the body'),
};

/**
 * Fastify's `frameworkErrors` option: errors met while routing, before any route or hook runs. A
 * path parameter longer than the router's `maxParamLength` (FST_ERR_MAX_PARAM_LENGTH) or one that
 * is not valid percent-encoding (FST_ERR_BAD_URL) cannot be an id of ours: 404, as for any id of the
 * wrong shape (docs/api-contract.md, "Wire format"), instead of Fastify's own 414/400 body.
 */
export function routingErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH' || error.code === 'FST_ERR_BAD_URL') {
    sendAppError(reply, new AppError('NOT_FOUND', 'Resource not found'));
    return;
  }
  request.log.error({ err: error }, 'routing failed');
  reply.code(500).send({ detail: 'Internal server error', code: 'INTERNAL_ERROR' });
}

/** One error handler for the whole app: AppError, validation (422), constraints, framework errors, else 500. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) return sendAppError(reply, error);
    if (error instanceof RequestValidationError) {
      return reply.code(422).send({ detail: error.issues });
    }
    if (error.validation && error.validationContext === 'params') {
      // A path segment of the wrong form (a NUL, a lone surrogate, over its length) names nothing
      // that can exist: 404, as an id of the wrong shape is (docs/api-contract.md, "IDs"), also on the
      // OAuth and page routes, which answer no FastAPI 422.
      return sendAppError(reply, new AppError('NOT_FOUND', 'Resource not found'));
    }
    if (error.validation) {
      return reply
        .code(422)
        .send({ detail: fastApiValidationDetail(error.validation, error.validationContext) });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      const empty = error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY';
      return reply.code(422).send({
        detail: [
          empty
            ? { loc: ['body'], msg: 'Field required', type: 'missing' }
            : { loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid' },
        ],
      });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Read the rest before answering, then close: answering first would reset the connection
      // under a client still sending, and it would lose the 413 (no `Expect: 100-continue`).
      return discardRequestBody(request.raw).then(() =>
        sendAppError(reply.header('connection', 'close'), FRAMEWORK_ERRORS[error.code]?.() as AppError),
      );
    }
    const framework = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (framework) return sendAppError(reply, framework());
    const fromDb = fromDatabaseError(error);
    if (fromDb) return sendAppError(reply, fromDb);
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendAppError(reply, new AppError('BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal server error', code: 'INTERNAL_ERROR' });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] as string;
    const allowed = allowedMethods(app, request.method, path);
    if (allowed.length > 0) {
      return sendAppError(
        reply,
        new AppError(
          'METHOD_NOT_ALLOWED',
          `Method ${request.method} not allowed; use ${allowed.join(', ')}`,
          {
            allow: allowed.join(', '),
          },
        ),
      );
    }
    return sendAppError(reply, new AppError('NOT_FOUND', `No route for ${request.method} ${path}`));
  });
}

/**
 * The methods routed for `path` other than `method` (RFC 9110 §15.5.6: a 405 names them in
 * `Allow`). Fastify answers a known path with an unrouted method like an unknown path; the
 * not-found handler asks the router, for every method Fastify supports, whether it would serve
 * the path. A path that is not valid percent-encoding matches no method.
 */
export function allowedMethods(app: FastifyInstance, method: string, path: string): string[] {
  try {
    decodeURIComponent(path);
  } catch {
    return [];
  }
  return app.supportedMethods.filter(
    (candidate) => candidate !== method && app.findRoute({ method: candidate as never, url: path }) !== null,
  );
}

/** Answers of errors Node's HTTP parser meets before there is a request (Fastify's `clientErrorHandler`). */
const CLIENT_ERRORS: Record<string, [number, ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'Request headers are larger than the server accepts'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request was not received in time'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request headers were not received in time'],
};

/**
 * Fastify's `clientErrorHandler`: a request Node cannot parse (a malformed request line or header,
 * an unknown method, headers over the size limit, a timeout) never reaches a route or the error
 * handler; Node only hands over the socket. The answer is written on the socket in the same
 * `{detail, code}` envelope as every other error (431, 408, else 400), and the connection closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'BAD_REQUEST',
    'The request could not be parsed as HTTP/1.1',
  ];
  const body = JSON.stringify({ detail, code });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

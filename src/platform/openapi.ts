import type { FastifySchema } from 'fastify';
import { ID_PREFIXES, type IdKind } from '../lib/ids.js';
import { SLUG_PATTERN } from '../lib/slug.js';
import { ErrorCodes } from './errors.js';
import { EMAIL_PATTERN } from './validation.js';

/**
 * The finishing of the OpenAPI document (docs/api-decisions.md, "OpenAPI document"). Routes declare
 * their own schemas; what holds for every route of a kind is added here once, so that a new route
 * is described like its neighbours without anybody remembering to:
 *
 * - `documentationTransform` (per route, @fastify/swagger's `transform`): request bodies and query
 *   parameters a route documents but does not let Fastify validate (`documentedBody`,
 *   `documentedQuery`: form posts read by oidc-provider or by the handler itself).
 * - `finishDocument` (the whole document, `transformObject`): operation ids, the responses every
 *   route of a kind can give (401/403, and 409 on writes, with a token; 404 with ids in the path;
 *   422 when anything is validated; 400/413/415 with a JSON body), response descriptions and
 *   headers, the error envelope with its `code` values, path id patterns, the server's email rule,
 *   query parameters without `null`, the client credentials alternative to bearer tokens, examples.
 */

declare module 'fastify' {
  interface FastifySchema {
    /** A request body shown in the document but not validated by Fastify (the handler reads it). */
    documentedBody?: unknown;
    /** Query parameters shown in the document but not validated by Fastify (oidc-provider reads them). */
    documentedQuery?: unknown;
  }
}

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, Media>; required?: boolean; description?: string };
  responses: Record<string, Response>;
  security?: Record<string, string[]>[];
};
type Parameter = { in: string; name: string; schema?: Json; description?: string; example?: unknown };
type Media = { schema?: Json; example?: unknown; examples?: unknown };
type Response = { description: string; content?: Record<string, Media>; headers?: Json };
export type OpenApiDocument = {
  info: Json;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas?: Record<string, Json>; securitySchemes?: Record<string, Json> };
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Facts about routes that the finished document no longer shows, keyed `METHOD /path/{param}`. */
const unvalidatedBodies = new Set<string>();
const unvalidatedQueries = new Set<string>();
const operationKey = (method: string, url: string) =>
  `${method.toLowerCase()} ${url.replace(/:(\w+)/g, '{$1}')}`;

/** @fastify/swagger `transform`: puts documented-only bodies and query parameters into the document. */
export function documentationTransform({
  schema,
  url,
  route,
}: {
  schema: FastifySchema;
  url: string;
  route: { method: string | string[] };
}): { schema: FastifySchema; url: string } {
  if (!schema || (!schema.documentedBody && !schema.documentedQuery)) return { schema, url };
  const { documentedBody, documentedQuery, ...rest } = schema;
  for (const method of [route.method].flat()) {
    if (documentedBody) unvalidatedBodies.add(operationKey(method, url));
    if (documentedQuery) unvalidatedQueries.add(operationKey(method, url));
  }
  return {
    schema: {
      ...rest,
      ...(documentedBody ? { body: documentedBody } : {}),
      ...(documentedQuery ? { querystring: documentedQuery } : {}),
    },
    url,
  };
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '204': 'Done; no content',
  '302': 'Redirect to the next step (Location)',
  '303': 'Continue at Location',
  '400': 'Bad request',
  '401': 'Missing, invalid or expired credentials',
  '403': 'Not allowed for this caller',
  '404': 'Not found (an id of the wrong shape, or something outside the caller’s reach, is not found either)',
  '405': 'Method not allowed',
  '409': 'Conflict with the current state',
  '413': 'Request body too large',
  '415': 'Unsupported media type (send application/json)',
  '422': 'Request validation failed',
  '429': 'Too many requests; retry after the seconds in Retry-After',
  '503': 'Service unavailable',
};

const ERROR_RESPONSE = 'ErrorResponse';
const VALIDATION_ERROR = 'HTTPValidationError';
const OAUTH_ERROR = 'OAuthError';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Every error code of the registry, for the `code` enum of the error envelope. */
export const ERROR_CODE_VALUES = Object.keys(ErrorCodes);

/** The error codes a status can carry (the registry maps each code to its one status). */
const codesOf = (status: string) =>
  Object.entries(ErrorCodes)
    .filter(([, codeStatus]) => String(codeStatus) === status)
    .map(([code]) => code);

/** The RFC 6749 / 7009 / 7662 / 6750 error codes the OAuth endpoints answer. */
const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'unsupported_token_type',
  'invalid_token',
  'insufficient_scope',
  'access_denied',
  'temporarily_unavailable',
  'server_error',
];

const errorJson = (status: string): Response => ({
  description: errorDescription(status, STATUS_TEXT[status] ?? 'Error'),
  content: { 'application/json': { schema: ref(ERROR_RESPONSE) } },
});
const validationJson = (): Response => ({
  description: STATUS_TEXT['422'] as string,
  content: { 'application/json': { schema: ref(VALIDATION_ERROR) } },
});

function errorDescription(status: string, text: string): string {
  const codes = codesOf(status);
  return codes.length ? `${text}. code: ${codes.join(', ')}` : text;
}

/** Which id kind a path parameter holds, by its name. */
const PATH_ID_KINDS: Record<string, IdKind> = {
  partner_id: 'partner',
  tenant_id: 'tenant',
  user_id: 'user',
  group_id: 'group',
  child_group_id: 'group',
  ou_id: 'ou',
  app_id: 'application',
  application_id: 'application',
  assignment_id: 'roleAssignment',
  factor_id: 'mfaFactor',
  session_id: 'session',
  client_id: 'application',
  entry_id: 'event',
  webhook_id: 'webhook',
  idp_id: 'identityProvider',
};

/** A fixed, realistic id of a kind (20 characters of [0-9a-z] after the prefix, like newId). */
const exampleId = (kind: IdKind) =>
  `${ID_PREFIXES[kind]}${'7k2m9q4x8c1v5b3n6z0w'}`.slice(0, ID_PREFIXES[kind].length + 20);

const idPattern = (kind: IdKind) => `^${ID_PREFIXES[kind]}[0-9a-z]{20}$`;

/** camelCase of the words of `text` ("Get Ou Tree" → getOuTree, "Platform JWKS" → platformJwks). */
function camelCase(text: string): string {
  const words = text
    .replace(/\([^)]*\)/g, ' ')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => (/^[A-Z0-9]+$/.test(word) ? word.toLowerCase() : word));
  return words
    .map((word, index) =>
      index === 0
        ? word.charAt(0).toLowerCase() + word.slice(1)
        : word.charAt(0).toUpperCase() + word.slice(1),
    )
    .join('');
}

const CONTEXT_PREFIXES: [RegExp, string][] = [
  [/^\/api\/v1\/admin\//, 'admin'],
  [/^\/api\/v1\/platform\//, 'platform'],
];

/**
 * The operation id of a route without an explicit one: its summary in camelCase, prefixed with
 * the API it belongs to when that is not the tenant one (`admin` for /api/v1/admin/..., `platform`
 * for the platform issuer), so that the admin and tenant twins of an operation stay apart; a route
 * without a summary gets its method and path words (`getHealthz`).
 */
export function deriveOperationId(method: string, path: string, summary?: string): string {
  const prefix = CONTEXT_PREFIXES.find(([pattern]) => pattern.test(path))?.[1] ?? '';
  const words = summary
    ? summary
    : `${method} ${path
        .split('/')
        .filter((segment) => segment && !segment.startsWith('{') && !/^(api|v1)$/.test(segment))
        .join(' ')}`;
  const base = camelCase(words);
  if (!prefix || base.toLowerCase().startsWith(prefix)) return base;
  return prefix + base.charAt(0).toUpperCase() + base.slice(1);
}

/** A query parameter's schema without `null`: a query string cannot carry one. */
function withoutNull(schema: Json): Json {
  const result: Json = { ...schema };
  if (Array.isArray(result.type)) {
    const types = (result.type as string[]).filter((type) => type !== 'null');
    result.type = types.length === 1 ? types[0] : types;
  }
  if (Array.isArray(result.enum)) result.enum = (result.enum as unknown[]).filter((value) => value !== null);
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(result[key])) {
      const members = (result[key] as Json[]).filter((member) => member.type !== 'null');
      if (members.length === 1) {
        delete result[key];
        Object.assign(result, members[0]);
      } else result[key] = members;
    }
  }
  return result;
}

/** Every schema object in `value` (request and response schemas, parameters, components). */
function forEachSchema(value: unknown, visit: (schema: Json) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) forEachSchema(item, visit);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as Json;
  if (typeof object.type === 'string' || Array.isArray(object.type)) visit(object);
  for (const child of Object.values(object)) forEachSchema(child, visit);
}

/** Email fields state what the server's `format: email` accepts (src/platform/validation.ts). */
function statedEmailPatterns(document: OpenApiDocument): void {
  forEachSchema(document, (schema) => {
    if (schema.format === 'email' && schema.pattern === undefined) schema.pattern = EMAIL_PATTERN;
  });
}

/** Moves the inline error schemas into components (one model for generated clients) and refers to them. */
function hoistErrorSchemas(document: OpenApiDocument): void {
  document.components.schemas ??= {};
  const schemas = document.components.schemas;
  schemas[ERROR_RESPONSE] = {
    type: 'object',
    title: ERROR_RESPONSE,
    description:
      'Every error but request validation and the OAuth endpoints: `detail` for people, `code` for programs.',
    required: ['detail', 'code'],
    properties: {
      detail: { type: 'string', examples: ['Resource not found'] },
      code: { type: 'string', enum: ERROR_CODE_VALUES, examples: ['NOT_FOUND'] },
    },
  };
  schemas[VALIDATION_ERROR] = {
    type: 'object',
    title: VALIDATION_ERROR,
    description: 'Request validation failed (422): one entry per problem; `loc` names where.',
    required: ['detail'],
    properties: {
      detail: {
        type: 'array',
        items: {
          type: 'object',
          required: ['loc', 'msg', 'type'],
          properties: {
            loc: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
            msg: { type: 'string' },
            type: { type: 'string' },
          },
        },
      },
    },
    examples: [{ detail: [{ loc: ['body', 'email'], msg: 'Field required', type: 'missing' }] }],
  };
  schemas[OAUTH_ERROR] = {
    type: 'object',
    title: OAUTH_ERROR,
    description: 'RFC 6749 §5.2 error of the OAuth and OpenID Connect endpoints.',
    required: ['error'],
    properties: {
      error: { type: 'string', enum: OAUTH_ERROR_CODES },
      error_description: { type: 'string' },
    },
    examples: [{ error: 'invalid_client', error_description: 'client authentication failed' }],
  };
  const titled: Record<string, string> = {
    [ERROR_RESPONSE]: ERROR_RESPONSE,
    [VALIDATION_ERROR]: VALIDATION_ERROR,
    [OAUTH_ERROR]: OAUTH_ERROR,
  };
  forEachOperation(document, (operation) => {
    for (const response of Object.values(operation.responses)) {
      for (const media of Object.values(response.content ?? {})) {
        const name = typeof media.schema?.title === 'string' ? titled[media.schema.title] : undefined;
        if (name) media.schema = ref(name);
      }
    }
  });
}

function forEachOperation(
  document: OpenApiDocument,
  visit: (operation: Operation, method: string, path: string) => void,
): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) visit(operation, method, path);
    }
  }
}

/** The responses every route of a kind can give, added where the route does not declare them. */
function addKindResponses(operation: Operation, method: string, path: string): void {
  const responses = operation.responses;
  const add = (status: string, response: () => Response) => {
    if (!responses[status]) responses[status] = response();
  };
  const authenticated = operation.security?.some((requirement) => 'bearerAuth' in requirement);
  if (authenticated) {
    add('401', () => errorJson('401'));
    add('403', () => errorJson('403'));
    // Any write may meet a concurrent one (serialization failure, deadlock): 409 CONFLICT, retry.
    if (method !== 'get') add('409', () => errorJson('409'));
  }
  const pathParams = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
  if (pathParams.length > 0) add('404', () => errorJson('404'));
  const key = `${method} ${path}`;
  const validatedBody = operation.requestBody && !unvalidatedBodies.has(key);
  const validatedQuery =
    !unvalidatedQueries.has(key) &&
    (operation.parameters ?? []).some((parameter) => parameter.in === 'query');
  if (pathParams.length > 0 || validatedQuery || validatedBody) add('422', validationJson);
  if (validatedBody && operation.requestBody?.content['application/json']) {
    add('400', () => errorJson('400'));
    add('413', () => errorJson('413'));
    add('415', () => errorJson('415'));
  }
}

const RESPONSE_HEADERS: Record<string, Json> = {
  '429': {
    'Retry-After': {
      description: 'Seconds until the limit’s window ends',
      schema: { type: 'integer', minimum: 1 },
    },
  },
  '401': {
    'WWW-Authenticate': {
      description: 'The scheme to authenticate with (RFC 6750 §3)',
      schema: { type: 'string' },
    },
  },
};

/** Descriptions instead of @fastify/swagger's "Default Response", error codes named per status. */
function describeResponses(operation: Operation): void {
  for (const [status, response] of Object.entries(operation.responses)) {
    const headers = RESPONSE_HEADERS[status];
    if (headers) response.headers = { ...headers, ...response.headers };
    if (response.description && response.description !== 'Default Response') continue;
    const text = STATUS_TEXT[status] ?? 'Response';
    const json = response.content?.['application/json']?.schema;
    const isErrorEnvelope = json?.$ref === ref(ERROR_RESPONSE).$ref;
    response.description = isErrorEnvelope ? errorDescription(status, text) : text;
  }
}

function finishParameters(operation: Operation): void {
  for (const parameter of operation.parameters ?? []) {
    if (!parameter.schema) continue;
    if (parameter.in === 'query') parameter.schema = withoutNull(parameter.schema);
    if (parameter.in !== 'path') continue;
    const kind = PATH_ID_KINDS[parameter.name];
    if (kind && !parameter.schema.pattern) {
      parameter.schema = { ...parameter.schema, pattern: idPattern(kind) };
      parameter.description ??=
        'Its shape is fixed (the pattern); an id of another shape answers 404 like an unknown one.';
    }
    if (parameter.name === 'delivery_id' && !parameter.schema.pattern) {
      // Webhook deliveries have numeric ids (the X-ScaiKey-Webhook-ID header).
      parameter.schema = { ...parameter.schema, pattern: '^[0-9]{1,15}$' };
      parameter.description ??= 'A delivery id (a number); another shape answers 404 like an unknown one.';
    }
    if (parameter.name === 'tenant_slug' && !parameter.schema.pattern) {
      parameter.schema = { ...parameter.schema, pattern: SLUG_PATTERN };
      parameter.description ??= 'The tenant’s slug; a slug of no live tenant answers 404.';
    }
  }
}

/** Bearer tokens alone, or a token fetched by the docs page itself (client credentials). */
function finishSecurity(document: OpenApiDocument, operation: Operation): void {
  if (!operation.security) return;
  const schemes = document.components.securitySchemes ?? {};
  operation.security = operation.security.flatMap((requirement) =>
    'bearerAuth' in requirement && schemes.oauth2 ? [requirement, { oauth2: [] }] : [requirement],
  );
}

// ——— examples ———

const EXAMPLE_TIME = '2026-01-15T09:30:00.000Z';
const STRING_EXAMPLES: Record<string, string> = {
  delivery_id: '1042',
  url: 'https://hooks.acme.example/scaikey',
  email: 'ada.lovelace@example.com',
  contact_email: 'it@acme.example',
  support_email: 'support@acme.example',
  user_email: 'ada.lovelace@example.com',
  confirm_email: 'ada.lovelace@example.com',
  display_name: 'Ada Lovelace',
  first_name: 'Ada',
  last_name: 'Lovelace',
  username: 'ada',
  phone: '+44 20 7946 0958',
  locale: 'en',
  timezone: 'Europe/London',
  slug: 'acme',
  tenant_slug: 'acme',
  description: 'Everybody in engineering',
  path: '/Sales/EMEA',
  ou_path: '/Sales/EMEA',
  password: 'correct-horse-battery-staple',
  new_password: 'correct-horse-battery-staple',
  confirm_password: 'correct-horse-battery-staple',
  current_password: 'Tr0ub4dor&3-old',
  client_secret: 'sks_4f9d2c7a1b8e6f3d0a5c9b2e7f1d4a8c6b3e0f9d2a7c',
  grant_type: 'client_credentials',
  scope: 'admin:read admin:write',
  token_type: 'Bearer',
  token_type_hint: 'access_token',
  access_token:
    'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiJhcHBfN2sybTlxNHg4YzF2NWIzbjZ6MHcifQ.c2lnbmF0dXJl',
  refresh_token: 'rt_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0',
  id_token:
    'eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiJ1c3JfN2sybTlxNHg4YzF2NWIzbjZ6MHcifQ.c2lnbmF0dXJl',
  token:
    'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiJhcHBfN2sybTlxNHg4YzF2NWIzbjZ6MHcifQ.c2lnbmF0dXJl',
  request_id: 'req_3f9c2a7d1e8b6c4a00000001',
  redirect_uri: 'https://app.acme.example/callback',
  post_logout_redirect_uri: 'https://app.acme.example/signed-out',
  logo_url: 'https://acme.example/logo.svg',
  favicon_url: 'https://acme.example/favicon.ico',
  custom_domain: 'login.acme.example',
  primary_color: '#0b5fff',
  background_color: '#ffffff',
  text_color: '#1a1a1a',
  response_type: 'code',
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256',
  code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  code: 'SplxlOBeZQQYbYS6WxSbIA',
  state: 'af0ifjsldkj',
  nonce: 'n-0S6_WzA2Mj',
  uid: 'iOLs5Ph3dYqVX5dKzfkPb',
  csrf: 'm2V4cGlyZXMtaW4tdGVuLW1pbnV0ZXM',
  query:
    'response_type=code&client_id=app_7k2m9q4x8c1v5b3n6z0w&redirect_uri=https%3A%2F%2Fapp.acme.example%2Fcallback&scope=openid',
  detail: 'Resource not found',
  allowed_scope: 'admin:read',
  application_name: 'Acme Portal',
  avatar_url: 'https://acme.example/avatars/ada.png',
  cursor: 'eyJpZCI6InVzcl83azJtOXE0eDhjMXY1YjNuNnowdyJ9',
  next_cursor: 'eyJpZCI6InVzcl83azJtOXE0eDhjMXY1YjNuNnowdyJ9',
  email_domain: 'acme.example',
  expires: '1768470000000',
  id_token_hint:
    'eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiJ1c3JfN2sybTlxNHg4YzF2NWIzbjZ6MHcifQ.c2lnbmF0dXJl',
  issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  login_hint: 'ada.lovelace@example.com',
  logout_hint: 'ada.lovelace@example.com',
  message: 'A password reset link was sent to the user’s email address',
  method: 'EMAIL',
  parent_group_path: '/Engineering',
  proof: 'c2lnbmVkLWNoYW5nZS1wcm9vZi1vZi10aGUtZm9ybQ',
  resource: 'urn:scaikey:api',
  audience: 'app_7k2m9q4x8c1v5b3n6z0w',
  search: 'ada',
  user: 'usr_7k2m9q4x8c1v5b3n6z0w',
  users_to_add: 'usr_7k2m9q4x8c1v5b3n6z0w',
  users_to_remove: 'usr_3p8r1t6y0u4i9o2a5s7d',
  version: '0.1.0',
  msg: 'Field required',
  issuer: 'https://id.acme.example/api/v1/auth/tenants/acme',
  sub: 'usr_7k2m9q4x8c1v5b3n6z0w',
  iss: 'https://id.acme.example/api/v1/auth/tenants/acme',
  kid: 'key-1',
  kty: 'RSA',
  alg: 'RS256',
  use: 'sig',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
};

const INTEGER_EXAMPLES: Record<string, number> = {
  page: 1,
  per_page: 20,
  total_items: 42,
  total_pages: 3,
  expires_in: 3600,
  token_lifetime: 3600,
  exp: 1768473000,
  iat: 1768469400,
  depth: 1,
  user_count: 12,
  group_count: 4,
  tenant_count: 3,
  ou_count: 5,
  member_count: 7,
  max_tenants: 50,
  max_users_per_tenant: 1000,
  max_applications_per_tenant: 20,
  min_length: 12,
  history: 3,
  max_age_days: 90,
  session_timeout: 480,
  max_failed_attempts: 5,
  lockout_minutes: 15,
  max_age: 3600,
  audit_retention_days: 365,
};

/** Id kinds by property name; `id` itself by the title of the object it is in. */
const PROPERTY_ID_KINDS: Record<string, IdKind> = {
  ...PATH_ID_KINDS,
  user_tenant_id: 'tenant',
  parent_id: 'ou',
  parent_group_id: 'group',
  client_id: 'application',
  created_by: 'user',
};
const TITLE_ID_KINDS: [RegExp, IdKind][] = [
  [/role/i, 'roleAssignment'],
  [/partner/i, 'partner'],
  [/tenant/i, 'tenant'],
  [/group/i, 'group'],
  [/^ou|organizational/i, 'ou'],
  [/application|app/i, 'application'],
  [/user|member/i, 'user'],
];

const NAME_BY_TITLE: [RegExp, string][] = [
  [/partner/i, 'Acme Partners'],
  [/tenant/i, 'Acme Corp'],
  [/group/i, 'Engineering'],
  [/^ou|organizational/i, 'EMEA'],
  [/application|app/i, 'Acme Portal'],
];

interface ExampleContext {
  document: OpenApiDocument;
  /** The title of the nearest enclosing titled schema (says what an `id` or `name` is). */
  title: string;
  depth: number;
  /** Request bodies show the required properties (or all when none is required). */
  request: boolean;
}

function resolveRef(schema: Json, context: ExampleContext): Json {
  const target = schema.$ref;
  if (typeof target !== 'string') return schema;
  const name = target.replace('#/components/schemas/', '');
  return context.document.components.schemas?.[name] ?? {};
}

function firstType(schema: Json): string | undefined {
  const type = schema.type;
  if (Array.isArray(type)) return type.find((entry) => entry !== 'null') as string | undefined;
  return type as string | undefined;
}

/** A realistic example of `schema`: its own `examples`, then the property name, the format, the bounds. */
function exampleOf(schema: Json, name: string, context: ExampleContext): unknown {
  const resolved = resolveRef(schema, context);
  const title = typeof resolved.title === 'string' ? resolved.title : context.title;
  const inner = { ...context, title, depth: context.depth + 1 };
  if (Array.isArray(resolved.examples) && resolved.examples.length > 0) return resolved.examples[0];
  if (resolved.example !== undefined) return resolved.example;
  if (resolved.const !== undefined) return resolved.const;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = resolved[key];
    if (Array.isArray(members)) {
      const member = (members as Json[]).find((entry) => entry.type !== 'null') ?? members[0];
      return exampleOf(member as Json, name, inner);
    }
  }
  if (Array.isArray(resolved.enum)) {
    const values = resolved.enum.filter((value) => value !== null);
    return values.includes(resolved.default) ? resolved.default : values[0];
  }
  switch (firstType(resolved) ?? (resolved.properties ? 'object' : undefined)) {
    case 'object':
      return objectExample(resolved, name, inner);
    case 'array': {
      if (context.depth > 4) return [];
      const item = exampleOf((resolved.items as Json) ?? {}, singular(name), inner);
      const count = Math.max(1, Number(resolved.minItems ?? 1));
      return Array.from({ length: count }, () => item);
    }
    case 'string':
      return stringExample(resolved, name, title);
    case 'integer':
    case 'number':
      return numberExample(resolved, name);
    case 'boolean':
      return typeof resolved.default === 'boolean' ? resolved.default : name !== 'mfa_enabled';
    default:
      return null;
  }
}

const singular = (name: string) => name.replace(/_ids$/, '_id').replace(/ies$/, 'y').replace(/s$/, '');

function objectExample(schema: Json, name: string, context: ExampleContext): unknown {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const keys = Object.keys(properties);
  if (keys.length === 0) {
    if (name === 'custom_attributes') return { department: 'R&D', employee_number: '1042' };
    if (name === 'key')
      return { kty: 'RSA', kid: 'key-1', use: 'sig', alg: 'RS256', n: STRING_EXAMPLES.n, e: 'AQAB' };
    return {};
  }
  if (context.depth > 10) return {};
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const shown = context.request && required.length > 0 ? keys.filter((key) => required.includes(key)) : keys;
  const result: Json = {};
  for (const key of shown) result[key] = exampleOf(properties[key] as Json, key, context);
  return result;
}

function stringExample(schema: Json, name: string, title: string): string {
  let value = stringGuess(schema, name, title);
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : null;
  if (pattern && !pattern.test(value)) value = patternFallback(schema.pattern as string) ?? value;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  if (value.length > max) value = value.slice(0, max);
  while (value.length < min) value += 'x';
  return value;
}

function stringGuess(schema: Json, name: string, title: string): string {
  if (typeof schema.default === 'string') return schema.default;
  const idKind =
    PROPERTY_ID_KINDS[name] ??
    (name === 'id' ? TITLE_ID_KINDS.find(([re]) => re.test(title))?.[1] : undefined);
  if (idKind) return exampleId(idKind);
  if (name === 'name') return NAME_BY_TITLE.find(([re]) => re.test(title))?.[1] ?? 'Acme Corp';
  if (name === 'display_name' && /tenant|partner|branding/i.test(title)) return 'Acme Corp';
  if (name.endsWith('_at') || schema.format === 'date-time') return EXAMPLE_TIME;
  const known = STRING_EXAMPLES[name];
  if (known) return known;
  switch (schema.format) {
    case 'email':
      return STRING_EXAMPLES.email as string;
    case 'uri':
      return name.includes('origin') ? 'https://app.acme.example' : 'https://app.acme.example/callback';
    case 'date':
      return '2026-01-15';
    case 'uuid':
      return '3f0c6a52-9c1e-4b8e-9f7a-2d5b1c0e8a47';
  }
  if (name.endsWith('redirect_uris') || name.endsWith('redirect_uri'))
    return 'https://app.acme.example/callback';
  if (name.includes('origin')) return 'https://app.acme.example';
  if (name.endsWith('scopes')) return 'openid';
  if (name.endsWith('_url')) return 'https://acme.example/';
  if (name.endsWith('_id') || name.endsWith('_ids')) return exampleId('user');
  if (name === 'status') return 'ok';
  if (name === 'type') return 'missing';
  return 'example';
}

/** Values for the fixed patterns of this API (slugs, locales, colours), where a guess does not fit. */
function patternFallback(pattern: string): string | null {
  const candidates = [
    'acme',
    'acme.example',
    'en',
    'Europe/London',
    '#0b5fff',
    'groups',
    'members',
    'com.acme.app:/callback',
  ];
  const regex = new RegExp(pattern, 'u');
  for (const kind of Object.keys(ID_PREFIXES) as IdKind[]) candidates.push(exampleId(kind));
  return candidates.find((candidate) => regex.test(candidate)) ?? null;
}

function numberExample(schema: Json, name: string): number {
  if (typeof schema.default === 'number') return schema.default;
  let value = INTEGER_EXAMPLES[name] ?? 1;
  if (typeof schema.minimum === 'number' && value < schema.minimum) value = schema.minimum;
  if (typeof schema.maximum === 'number' && value > schema.maximum) value = schema.maximum;
  return value;
}

const HTML_EXAMPLE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Acme Corp</title></head>' +
  '<body><main><h1>Sign in</h1><form method="post">…</form></main></body></html>';

function addExamples(document: OpenApiDocument, operation: Operation): void {
  const context = (request: boolean): ExampleContext => ({ document, title: '', depth: 0, request });
  for (const parameter of operation.parameters ?? []) {
    if (parameter.example === undefined && parameter.schema) {
      parameter.example = exampleOf(parameter.schema, parameter.name, context(true));
    }
  }
  const medias: [Media, boolean, string, string | null][] = [];
  for (const [type, media] of Object.entries(operation.requestBody?.content ?? {}))
    medias.push([media, true, type, null]);
  for (const [status, response] of Object.entries(operation.responses)) {
    for (const [type, media] of Object.entries(response.content ?? {}))
      medias.push([media, false, type, status]);
  }
  for (const [media, request, type, status] of medias) {
    if (media.example !== undefined || media.examples !== undefined) continue;
    const errorExample = status ? errorExampleOf(media.schema, status) : undefined;
    if (type === 'text/html') media.example = HTML_EXAMPLE;
    else if (errorExample) media.example = errorExample;
    else if (media.schema) media.example = exampleOf(media.schema, '', context(request));
  }
}

/** The code an error example of a status shows (the general one where a status has several). */
const EXAMPLE_CODES: Record<string, string> = { '400': 'BAD_REQUEST', '409': 'CONFLICT' };
const EXAMPLE_DETAILS: Record<string, string> = {
  UNAUTHORIZED: 'Missing or invalid bearer token',
  FORBIDDEN: 'Token requires admin:read or admin:write scope',
  NOT_FOUND: 'Resource not found',
  CONFLICT: 'The request conflicts with existing data',
  BAD_REQUEST: 'The request is not valid here',
  PAYLOAD_TOO_LARGE: 'Request body is larger than 1 MiB',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type; send application/json',
  RATE_LIMITED: 'Too many requests; retry after 60 seconds',
};
const OAUTH_EXAMPLES: Record<string, Json> = {
  '400': { error: 'invalid_request', error_description: 'missing required parameter: grant_type' },
  '401': { error: 'invalid_client', error_description: 'client authentication failed' },
  '403': { error: 'insufficient_scope', error_description: 'the openid scope is required' },
  '413': { error: 'invalid_request', error_description: 'request body too large' },
  '429': { error: 'temporarily_unavailable', error_description: 'too many requests; retry after 60 seconds' },
};

/** An error body that fits its status (a 401 example says UNAUTHORIZED, not NOT_FOUND). */
function errorExampleOf(schema: Json | undefined, status: string): Json | undefined {
  if (schema?.$ref === ref(ERROR_RESPONSE).$ref) {
    const code = EXAMPLE_CODES[status] ?? codesOf(status)[0];
    if (!code) return undefined;
    return { detail: EXAMPLE_DETAILS[code] ?? STATUS_TEXT[status] ?? 'Error', code };
  }
  const isOAuthError = schema?.$ref === ref(OAUTH_ERROR).$ref || schema?.title === OAUTH_ERROR;
  if (isOAuthError) return OAUTH_EXAMPLES[status];
  return undefined;
}

const INFO_DESCRIPTION = `Identity provider and directory service: partners, tenants, users, groups, OUs, applications.

**Credentials.** The management API (\`/api/v1/admin/...\`, \`/api/v1/tenants/...\`) takes an RS256 access token of ScaiKey as \`Authorization: Bearer\`. An application gets one with the client credentials grant at \`/api/v1/platform/oauth/token\` (the **Authorize** button of this page does that with an application's client id and secret), a user through the authorization code flow of a tenant.

**Errors.** Every error is \`{detail, code}\` (\`ErrorResponse\`; \`code\` is one of a fixed list), except request validation (422, \`{detail: [{loc, msg, type}]}\`) and the OAuth endpoints (RFC 6749 \`{error, error_description}\`). An id of the wrong shape answers 404 like an unknown one.

**Parameters.** Unknown query parameters are ignored; unknown fields of a JSON body are a 422. Query values are read from text (\`page=2\`, \`is_active=true\`); an empty boolean filter (\`is_active=\`) counts as absent.

Decisions behind this API: docs/api-decisions.md.`;

/**
 * @fastify/swagger `transformObject`: finishes the generated document (see the top of this file).
 * Mutates and returns the object @fastify/swagger built for this call.
 */
export function finishDocument(document: OpenApiDocument): OpenApiDocument {
  document.info = { ...document.info, description: INFO_DESCRIPTION };
  hoistErrorSchemas(document);
  statedEmailPatterns(document);
  const seen = new Map<string, string>();
  forEachOperation(document, (operation, method, path) => {
    operation.operationId ??= deriveOperationId(method, path, operation.summary);
    const other = seen.get(operation.operationId);
    if (other)
      throw new Error(`operationId ${operation.operationId} of ${method} ${path} is also ${other}'s`);
    seen.set(operation.operationId, `${method} ${path}`);
    finishSecurity(document, operation);
    finishParameters(operation);
    addKindResponses(operation, method, path);
    describeResponses(operation);
    addExamples(document, operation);
  });
  return document;
}

/** The security schemes of the document (components.securitySchemes). */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token of ScaiKey (RS256 JWT, typ at+jwt).',
  },
  oauth2: {
    type: 'oauth2',
    description:
      'An application’s own token from the platform token endpoint (client credentials grant; a GLOBAL ' +
      'application). The docs page fetches one itself with the client id and secret.',
    flows: {
      clientCredentials: {
        tokenUrl: '/api/v1/platform/oauth/token',
        scopes: {
          'admin:read': 'Read the management API',
          'admin:write': 'Change through the management API (implies admin:read)',
          'users:read': 'Read the users of the tenant routes',
          'groups:read': 'Read the groups of the tenant routes',
        },
      },
    },
  },
  clientSecretBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      'OAuth client authentication client_secret_basic (RFC 6749 §2.3.1): the client id and secret as HTTP ' +
      'Basic credentials. client_secret_post (client_id and client_secret form fields) is accepted too.',
  },
};

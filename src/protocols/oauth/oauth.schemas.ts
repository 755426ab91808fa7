import { Type } from 'typebox';
import { SLUG_PATTERN } from '../../lib/slug.js';
import { ErrorSchema, HtmlPage } from '../../platform/schemas.js';

/**
 * The OAuth and OpenID Connect endpoints as the OpenAPI document shows them. Their form bodies and
 * authorization query parameters are read by oidc-provider or by the handler itself, never
 * validated by Fastify (a wrong request gets an RFC 6749 error, not a 422): they are declared as
 * `documentedBody` / `documentedQuery` (src/platform/openapi.ts).
 */

export const FORM = 'application/x-www-form-urlencoded';

/** Client authentication of the token, PAR, introspection and revocation endpoints. */
export const clientAuthentication: Record<string, string[]>[] = [{ clientSecretBasic: [] }, {}];
export const CLIENT_AUTH_NOTE =
  'Client authentication: HTTP Basic (client_secret_basic) or client_id and client_secret form fields ' +
  '(client_secret_post); public clients send client_id alone (with PKCE).';

export const OAuthErrorSchema = Type.Object(
  { error: Type.String(), error_description: Type.Optional(Type.String()) },
  { title: 'OAuthError' },
);

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.String({ examples: ['Bearer'] }),
    expires_in: Type.Integer(),
    scope: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.String()),
    id_token: Type.Optional(Type.String()),
    issued_token_type: Type.Optional(Type.String()),
  },
  { title: 'TokenResponse' },
);

const clientFields = {
  client_id: Type.Optional(Type.String({ description: 'client_secret_post, or a public client' })),
  client_secret: Type.Optional(Type.String({ description: 'client_secret_post' })),
};

export const TokenRequestSchema = Type.Object(
  {
    grant_type: Type.String({
      enum: [
        'client_credentials',
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ],
    }),
    scope: Type.Optional(Type.String({ description: 'Space-separated; default: every allowed scope' })),
    code: Type.Optional(Type.String({ description: 'authorization_code' })),
    redirect_uri: Type.Optional(Type.String({ description: 'authorization_code' })),
    code_verifier: Type.Optional(Type.String({ description: 'authorization_code (PKCE, RFC 7636)' })),
    refresh_token: Type.Optional(Type.String({ description: 'refresh_token' })),
    resource: Type.Optional(Type.String({ description: 'RFC 8707 resource indicator' })),
    subject_token: Type.Optional(Type.String({ description: 'token exchange (RFC 8693)' })),
    subject_token_type: Type.Optional(Type.String({ description: 'token exchange' })),
    audience: Type.Optional(Type.String({ description: 'token exchange: the client id to address' })),
    ...clientFields,
  },
  {
    title: 'TokenRequest',
    examples: [{ grant_type: 'client_credentials', scope: 'admin:read' }],
  },
);

const TokenTypeHint = Type.Optional(Type.String({ enum: ['access_token', 'refresh_token'] }));

export const IntrospectionRequestSchema = Type.Object(
  { token: Type.String(), token_type_hint: TokenTypeHint, ...clientFields },
  { title: 'IntrospectionRequest' },
);

export const IntrospectionResponseSchema = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    iss: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    nbf: Type.Optional(Type.Integer()),
    jti: Type.Optional(Type.String()),
  },
  {
    title: 'IntrospectionResponse',
    description:
      'RFC 7662 §2.2: `{active: false}` alone for a token that is not live; for a live one its claims ' +
      '(more than those listed may be present).',
    additionalProperties: true,
    examples: [
      {
        active: true,
        token_type: 'Bearer',
        scope: 'admin:read',
        client_id: 'app_7k2m9q4x8c1v5b3n6z0w',
        sub: 'app_7k2m9q4x8c1v5b3n6z0w',
        aud: ['urn:scaikey:api', 'app_7k2m9q4x8c1v5b3n6z0w'],
        iss: 'https://id.acme.example/api/v1/platform/oauth',
        exp: 1768473000,
        iat: 1768469400,
        jti: 'Dq9mYJ0c7gN2x0bq4L0nS',
      },
    ],
  },
);

export const RevocationRequestSchema = Type.Object(
  { token: Type.String(), token_type_hint: TokenTypeHint, ...clientFields },
  { title: 'RevocationRequest' },
);

export const RevocationResponse = {
  description:
    'Revoked, or nothing to revoke (RFC 7009 §2.2: an unknown, expired or foreign token is answered the same)',
  type: 'string',
  maxLength: 0,
} as const;

export const UserinfoResponseSchema = Type.Object(
  {
    sub: Type.String(),
    email: Type.Optional(Type.String()),
    email_verified: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.String()),
    given_name: Type.Optional(Type.String()),
    family_name: Type.Optional(Type.String()),
    preferred_username: Type.Optional(Type.String()),
    locale: Type.Optional(Type.String()),
    zoneinfo: Type.Optional(Type.String()),
    updated_at: Type.Optional(Type.Integer()),
    groups: Type.Optional(Type.Array(Type.String(), { description: 'Effective group ids (scope groups)' })),
  },
  {
    title: 'UserInfo',
    description: 'OIDC Core §5.3: `sub` and the claims of the scopes the token carries.',
    additionalProperties: true,
    examples: [
      {
        sub: 'usr_7k2m9q4x8c1v5b3n6z0w',
        email: 'ada.lovelace@example.com',
        email_verified: true,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        preferred_username: 'ada',
        locale: 'en',
        zoneinfo: 'Europe/London',
        updated_at: 1768469400,
      },
    ],
  },
);

export const BearerErrorSchema = Type.Object(
  { error: Type.String(), error_description: Type.Optional(Type.String()) },
  { title: 'OAuthError' },
);

export const DiscoverySchema = Type.Record(Type.String(), Type.Unknown(), {
  title: 'OpenIDProviderMetadata',
  description: 'OpenID Connect Discovery 1.0 §3 / RFC 8414 provider metadata.',
  examples: [
    {
      issuer: 'https://id.acme.example/api/v1/auth/tenants/acme',
      authorization_endpoint: 'https://id.acme.example/api/v1/auth/tenants/acme/oauth/authorize',
      token_endpoint: 'https://id.acme.example/api/v1/auth/tenants/acme/oauth/token',
      userinfo_endpoint: 'https://id.acme.example/api/v1/auth/tenants/acme/oauth/userinfo',
      jwks_uri: 'https://id.acme.example/api/v1/auth/tenants/acme/.well-known/jwks.json',
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    },
  ],
});

export const JwksSchema = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) },
  { title: 'JWKS', description: 'RFC 7517 JSON Web Key Set' },
);

export const SlugParams = Type.Object({ tenant_slug: Type.String() });

/** Query (GET) or form (POST) parameters of the authorization endpoint (OIDC Core §3.1.2.1). */
export const AuthorizationParamsSchema = Type.Object(
  {
    response_type: Type.String({ enum: ['code'] }),
    client_id: Type.String(),
    redirect_uri: Type.String(),
    scope: Type.String({
      description: 'Space-separated; openid for OpenID Connect',
      examples: ['openid profile email'],
    }),
    state: Type.Optional(Type.String()),
    nonce: Type.Optional(Type.String()),
    code_challenge: Type.Optional(
      Type.String({ description: 'PKCE (RFC 7636); required for public clients' }),
    ),
    code_challenge_method: Type.Optional(Type.String({ enum: ['S256'] })),
    prompt: Type.Optional(Type.String({ enum: ['none', 'login', 'consent'], examples: ['login'] })),
    login_hint: Type.Optional(Type.String()),
    max_age: Type.Optional(Type.Integer({ minimum: 0 })),
    resource: Type.Optional(Type.String()),
  },
  { title: 'AuthorizationRequest' },
);

/** The answer of a pushed authorization request (RFC 9126 §2.2). */
export const PushedAuthorizationResponseSchema = Type.Object(
  {
    request_uri: Type.String({ examples: ['urn:ietf:params:oauth:request_uri:Xq3bX6zCnrfDQbVo1nGqP'] }),
    expires_in: Type.Integer({ description: 'Seconds the request_uri stays usable', examples: [60] }),
  },
  { title: 'PushedAuthorizationResponse' },
);

/** Query (GET) or form (POST) parameters of the end-session endpoint (OIDC RP-Initiated Logout §2). */
export const EndSessionParamsSchema = Type.Object(
  {
    id_token_hint: Type.Optional(Type.String()),
    post_logout_redirect_uri: Type.Optional(Type.String()),
    state: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    logout_hint: Type.Optional(Type.String()),
  },
  { title: 'EndSessionRequest' },
);

/** Responses of the browser endpoints oidc-provider serves (authorization, end session). */
export const browserEndpointResponses = {
  200: HtmlPage('A page of the flow (sign-in, logout confirmation, or an error the client cannot receive)'),
  302: {
    description:
      'Redirect to the next step: the sign-in page, or the client’s redirect_uri with code or error',
    type: 'null',
  },
  303: { description: 'Redirect (form post answered)', type: 'null' },
  400: HtmlPage('The request cannot be sent back to the client (unknown client, unregistered redirect_uri)'),
  404: ErrorSchema,
} as const;

export { SLUG_PATTERN };

import { type Static, Type } from 'typebox';
import { Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

export const ApplicationTypeEnum = Type.Unsafe<'WEB' | 'SERVICE' | 'SPA' | 'NATIVE'>({
  type: 'string',
  enum: ['WEB', 'SERVICE', 'SPA', 'NATIVE'],
  title: 'ApplicationType',
  description: 'WEB and SERVICE are confidential (they have a client secret); SPA and NATIVE are public',
});
export const ApplicationScopeEnum = Type.Unsafe<'GLOBAL' | 'PARTNER' | 'TENANT'>({
  type: 'string',
  enum: ['GLOBAL', 'PARTNER', 'TENANT'],
  title: 'ApplicationScope',
  description: 'Tenancy level; cannot change after registration',
});
export const ApplicationStatusEnum = Type.Unsafe<'ACTIVE' | 'DISABLED'>({
  type: 'string',
  enum: ['ACTIVE', 'DISABLED'],
});

/** Most URIs, origins or scopes one application may list (keeps client metadata and tokens small). */
export const MAX_LIST_ITEMS = 100;

const Name = Type.String({ minLength: 1, maxLength: 255 });
const Description = Nullable(Type.String({ maxLength: 2000 }));
/** Absolute URLs; the service checks scheme, host, fragment and wildcards (422 naming the item). */
const UriList = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { maxItems: MAX_LIST_ITEMS, description });
const RedirectUris = UriList(
  'Exact-match redirect URIs: https, or http only for localhost / 127.0.0.1 / [::1]; no fragment, no wildcard. ' +
    'NATIVE applications may also use a private-use scheme such as com.example.app:/callback (RFC 8252 §7.1).',
);
const PostLogoutRedirectUris = UriList(
  'Where relying-party logout may return to; same rules as redirect_uris',
);
const AllowedOrigins = UriList(
  'CORS origins (scheme://host[:port], no path): https, or http for loopback hosts',
);
/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. */
const ScopeToken = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' });
const AllowedScopes = Type.Array(ScopeToken, {
  maxItems: MAX_LIST_ITEMS,
  description:
    'Scopes the application may request (upper bound of its tokens); free-form RFC 6749 scope tokens, ' +
    'duplicates dropped. PATCH replaces the whole list.',
});
const TokenLifetime = Type.Integer({
  minimum: 60,
  maximum: 86400,
  description: 'Access-token lifetime in seconds (default 3600)',
});
const RequirePushedAuthorizationRequests = Type.Boolean({
  description:
    'Sign-in requests of this application must be pushed to the pushed_authorization_request_endpoint ' +
    'first (RFC 9126 §6); the authorization endpoint then refuses plain ones. Default false.',
});

export const ApplicationCreate = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    application_type: ApplicationTypeEnum,
    scope: ApplicationScopeEnum,
    partner_id: Type.Optional(
      Nullable(Type.String(), {
        description:
          'PARTNER applications: the owning partner (a partner_admin may leave it out for its own). ' +
          'TENANT applications take the partner of their tenant.',
      }),
    ),
    tenant_id: Type.Optional(
      Nullable(Type.String(), {
        description: 'TENANT applications: the owning tenant (a tenant_admin may leave it out for its own)',
      }),
    ),
    redirect_uris: Type.Optional(RedirectUris),
    post_logout_redirect_uris: Type.Optional(PostLogoutRedirectUris),
    allowed_origins: Type.Optional(AllowedOrigins),
    allowed_scopes: Type.Optional(AllowedScopes),
    token_lifetime: Type.Optional(TokenLifetime),
    assignment_required: Type.Optional(
      Type.Boolean({ description: 'Only assigned users (directly or through a group) may sign in' }),
    ),
    require_pushed_authorization_requests: Type.Optional(RequirePushedAuthorizationRequests),
    status: Type.Optional(ApplicationStatusEnum),
  },
  { additionalProperties: false, title: 'ApplicationCreate' },
);
export type ApplicationCreate = Static<typeof ApplicationCreate>;

export const ApplicationUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    redirect_uris: Type.Optional(RedirectUris),
    post_logout_redirect_uris: Type.Optional(PostLogoutRedirectUris),
    allowed_origins: Type.Optional(AllowedOrigins),
    allowed_scopes: Type.Optional(AllowedScopes),
    token_lifetime: Type.Optional(TokenLifetime),
    assignment_required: Type.Optional(Type.Boolean()),
    require_pushed_authorization_requests: Type.Optional(RequirePushedAuthorizationRequests),
    status: Type.Optional(ApplicationStatusEnum),
  },
  {
    additionalProperties: false,
    title: 'ApplicationUpdate',
    description:
      'Lists are replaced, not merged. scope, application_type, partner_id and tenant_id cannot change ' +
      '(422 extra_forbidden).',
  },
);
export type ApplicationUpdate = Static<typeof ApplicationUpdate>;

const applicationFields = {
  id: Type.String({ description: 'The client_id' }),
  client_id: Type.String({ description: 'Same as id' }),
  name: Type.String(),
  description: Nullable(Type.String()),
  application_type: ApplicationTypeEnum,
  scope: ApplicationScopeEnum,
  partner_id: Nullable(Type.String()),
  tenant_id: Nullable(Type.String()),
  is_confidential: Type.Boolean({
    description: 'Whether the application has a client secret (WEB, SERVICE)',
  }),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  allowed_origins: Type.Array(Type.String()),
  allowed_scopes: Type.Array(Type.String()),
  token_lifetime: Type.Integer(),
  assignment_required: Type.Boolean(),
  require_pushed_authorization_requests: Type.Boolean({
    description: 'Whether sign-in requests must be pushed first (RFC 9126)',
  }),
  status: ApplicationStatusEnum,
  secret_rotated_at: Nullable(Timestamp, { description: 'When the client secret was last rotated' }),
  created_at: Timestamp,
  updated_at: Nullable(Timestamp),
};

export const ApplicationResponse = Type.Object(applicationFields, { title: 'ApplicationResponse' });
export type ApplicationResponse = Static<typeof ApplicationResponse>;

export const ApplicationWithSecret = Type.Object(
  {
    ...applicationFields,
    client_secret: Nullable(Type.String(), {
      description:
        'The client secret, shown this once (stored only as a digest); null for public applications',
    }),
  },
  { title: 'ApplicationWithSecret' },
);
export type ApplicationWithSecret = Static<typeof ApplicationWithSecret>;

export const ApplicationListQuery = Type.Object({
  ...PageQuery,
  tenant_id: Type.Optional(Type.String({ description: 'TENANT applications of this tenant' })),
  partner_id: Type.Optional(
    Type.String({ description: 'PARTNER applications of this partner and TENANT ones of its tenants' }),
  ),
  scope: Type.Optional(ApplicationScopeEnum),
  application_type: Type.Optional(ApplicationTypeEnum),
  status: Type.Optional(ApplicationStatusEnum),
  search: Type.Optional(
    Type.String({ maxLength: 255, description: 'Substring of the name, or an exact client_id' }),
  ),
});
export type ApplicationListQuery = Static<typeof ApplicationListQuery>;

export const ApplicationParams = Type.Object({ app_id: Type.String() });

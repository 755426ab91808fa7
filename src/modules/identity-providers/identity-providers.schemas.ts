import { type Static, Type } from 'typebox';
import { FreeObject, Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

export const ProviderTypeEnum = Type.Unsafe<'OIDC' | 'SAML' | 'LDAP'>({
  type: 'string',
  enum: ['OIDC', 'SAML', 'LDAP'],
  title: 'IdentityProviderType',
});

const Domain = Type.String({
  minLength: 3,
  maxLength: 253,
  pattern: '^(?=.{3,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}$',
});
const AttributeName = Type.String({ minLength: 1, maxLength: 1024 });

export const AttributeMapping = Type.Object(
  {
    email: Type.Optional(AttributeName),
    given_name: Type.Optional(AttributeName),
    family_name: Type.Optional(AttributeName),
    display_name: Type.Optional(AttributeName),
    custom_attributes: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' }),
        AttributeName,
        {
          maxProperties: 50,
          description: 'ScaiKey custom attribute → upstream attribute',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    title: 'AttributeMapping',
    description:
      'Which upstream attribute (claim, SAML attribute, LDAP attribute) fills each user field; applied at every ' +
      'sign-in and sync. Unset fields take the type’s default (docs/federation.md).',
  },
);
export type AttributeMapping = Static<typeof AttributeMapping>;

export const GroupMappingRule = Type.Object(
  {
    upstream_group: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'The upstream group as the provider names it (claim value, SAML attribute value, LDAP DN)',
    }),
    group_id: Type.Optional(Nullable(Type.String({ description: 'An existing group of the tenant' }))),
    group_name: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 255,
          description: 'Or a group by name, created on first use when missing',
        }),
      ),
    ),
  },
  { additionalProperties: false, title: 'GroupMappingRule' },
);
export type GroupMappingRule = Static<typeof GroupMappingRule>;

const Common = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  button_label: Type.Optional(
    Nullable(
      Type.String({ minLength: 1, maxLength: 100, description: 'The SSO button text (default: name)' }),
    ),
  ),
  email_domains: Type.Optional(
    Type.Array(Domain, {
      maxItems: 100,
      description:
        'Home-realm discovery: an email of one of these domains typed at sign-in goes to this provider. A domain ' +
        'belongs to one enabled provider of the tenant.',
    }),
  ),
  jit_provisioning: Type.Optional(
    Type.Boolean({ description: 'Create the user at its first sign-in (default true)' }),
  ),
  link_by_email: Type.Optional(
    Type.Boolean({
      description:
        'Link the first sign-in to an existing user with the same email, when the provider vouches for it ' +
        '(default false)',
    }),
  ),
  trust_upstream_mfa: Type.Optional(
    Type.Boolean({
      description:
        'An upstream sign-in whose amr shows a second factor satisfies the tenant’s MFA policy (default false)',
    }),
  ),
  attribute_mapping: Type.Optional(AttributeMapping),
  group_mapping: Type.Optional(Type.Array(GroupMappingRule, { maxItems: 500 })),
  default_ou_id: Type.Optional(Nullable(Type.String({ description: 'Where new users are placed' }))),
  enabled: Type.Optional(Type.Boolean({ description: 'Default true; a disabled provider signs nobody in' })),
};

export const IdentityProviderCreate = Type.Object(
  {
    tenant_id: Type.Optional(Type.String({ description: 'Required unless the caller is a tenant admin' })),
    provider_type: ProviderTypeEnum,
    ...Common,
    config: Type.Unsafe<Record<string, unknown>>({
      type: 'object',
      description:
        'Type-specific: OidcProviderConfig, SamlProviderConfig or LdapProviderConfig (components of this document)',
    }),
  },
  { additionalProperties: false, title: 'IdentityProviderCreate' },
);
export type IdentityProviderCreate = Static<typeof IdentityProviderCreate>;

export const IdentityProviderUpdate = Type.Object(
  {
    name: Type.Optional(Common.name),
    description: Common.description,
    button_label: Common.button_label,
    email_domains: Common.email_domains,
    jit_provisioning: Common.jit_provisioning,
    link_by_email: Common.link_by_email,
    trust_upstream_mfa: Common.trust_upstream_mfa,
    attribute_mapping: Common.attribute_mapping,
    group_mapping: Common.group_mapping,
    default_ou_id: Common.default_ou_id,
    enabled: Common.enabled,
    config: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        description:
          'Merged into the stored config key by key (null clears an optional key); give a secret to replace it',
      }),
    ),
  },
  { additionalProperties: false, title: 'IdentityProviderUpdate' },
);
export type IdentityProviderUpdate = Static<typeof IdentityProviderUpdate>;

export const IdentityProviderResponse = Type.Object(
  {
    id: Type.String(),
    tenant_id: Type.String(),
    name: Type.String(),
    provider_type: ProviderTypeEnum,
    description: Nullable(Type.String()),
    button_label: Type.String(),
    email_domains: Type.Array(Type.String()),
    jit_provisioning: Type.Boolean(),
    link_by_email: Type.Boolean(),
    trust_upstream_mfa: Type.Boolean(),
    attribute_mapping: AttributeMapping,
    group_mapping: Type.Array(GroupMappingRule),
    default_ou_id: Nullable(Type.String()),
    enabled: Type.Boolean(),
    status: Type.Unsafe<'ACTIVE' | 'DISABLED'>({ type: 'string', enum: ['ACTIVE', 'DISABLED'] }),
    config: FreeObject,
    secrets_set: Type.Array(Type.String(), { description: 'Which write-only secrets are set' }),
    urls: Type.Record(Type.String(), Type.String(), {
      description: 'What to register at the provider: redirect URI (OIDC), SP metadata and ACS (SAML)',
    }),
    users_count: Type.Integer({ description: 'Users linked to this provider' }),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
  },
  { title: 'IdentityProviderResponse' },
);
export type IdentityProviderResponse = Static<typeof IdentityProviderResponse>;

export const IdentityProviderListQuery = Type.Object({
  ...PageQuery,
  tenant_id: Type.Optional(Type.String()),
  provider_type: Type.Optional(ProviderTypeEnum),
  search: Type.Optional(Type.String({ maxLength: 255, description: 'In the name and button label' })),
});

export const IdpParams = Type.Object({ idp_id: Type.String() });

export const ConnectionCheck = Type.Object(
  { name: Type.String(), ok: Type.Boolean(), detail: Type.String() },
  { title: 'ConnectionCheck' },
);
export const ConnectionTestResult = Type.Object(
  {
    ok: Type.Boolean({ description: 'Every check passed' }),
    checks: Type.Array(ConnectionCheck),
  },
  { title: 'ConnectionTestResult' },
);

export const SyncRunResponse = Type.Object(
  {
    id: Type.String(),
    identity_provider_id: Type.String(),
    status: Type.Unsafe<'RUNNING' | 'SUCCEEDED' | 'FAILED'>({
      type: 'string',
      enum: ['RUNNING', 'SUCCEEDED', 'FAILED'],
    }),
    trigger: Type.Unsafe<'MANUAL' | 'SCHEDULED'>({ type: 'string', enum: ['MANUAL', 'SCHEDULED'] }),
    started_at: Timestamp,
    finished_at: Nullable(Timestamp),
    counts: Type.Record(Type.String(), Type.Integer()),
    error: Nullable(Type.String()),
  },
  { title: 'SyncRunResponse' },
);
export type SyncRunResponse = Static<typeof SyncRunResponse>;
export const SyncRunListQuery = Type.Object({ ...PageQuery });

/** The SSO buttons of a tenant's sign-in page (public). */
export const FederationIdp = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    button_label: Type.String(),
    provider_type: ProviderTypeEnum,
    login_path: Nullable(
      Type.String({
        description:
          'OIDC and SAML: the path below the sign-in page’s interaction that starts the redirect ({uid} to fill)',
      }),
    ),
  },
  { title: 'FederationIdp' },
);

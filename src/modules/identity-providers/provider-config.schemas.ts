import { type Static, type TSchema, Type } from 'typebox';
import { Nullable } from '../../platform/schemas.js';

/**
 * The type-specific `config` of an identity provider (docs/federation.md): what the admin API
 * accepts for each `provider_type`, with its defaults. Secrets (`client_secret`, `bind_password`,
 * `sp_private_key`) are write-only: sealed at rest, never returned (the response says whether one
 * is set: `…_set`).
 */

const Url = (description: string) => Type.String({ minLength: 1, maxLength: 2048, description });
const Text = (maxLength: number, description: string) => Type.String({ maxLength, description });

export const OidcConfigInput = Type.Object(
  {
    preset: Type.Optional(
      Type.Unsafe<'generic' | 'google' | 'entra'>({
        type: 'string',
        enum: ['generic', 'google', 'entra'],
        description:
          'generic (any issuer), google (https://accounts.google.com), entra (Microsoft Entra ID; the issuer ' +
          'comes from entra_tenant_id). Presets only fill defaults. Default generic.',
      }),
    ),
    issuer: Type.Optional(Url('The issuer; discovery reads {issuer}/.well-known/openid-configuration')),
    client_id: Type.String({
      minLength: 1,
      maxLength: 512,
      description: 'ScaiKey’s client id at the provider',
    }),
    client_secret: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: 'Write-only; sealed at rest' }),
    ),
    entra_tenant_id: Type.Optional(
      Nullable(Text(255, 'Entra ID: the directory (tenant) id or a verified domain of it')),
    ),
    scopes: Type.Optional(Text(1024, 'Space-separated; default "openid email profile"')),
    use_userinfo: Type.Optional(
      Type.Boolean({ description: 'Also read the userinfo endpoint (default false)' }),
    ),
    groups_claim: Type.Optional(Text(255, 'The claim carrying the user’s groups (default groups)')),
    token_endpoint_auth_method: Type.Optional(
      Type.Unsafe<'client_secret_basic' | 'client_secret_post' | 'none'>({
        type: 'string',
        enum: ['client_secret_basic', 'client_secret_post', 'none'],
        description: 'Default client_secret_basic; none: a public client (PKCE only)',
      }),
    ),
  },
  { additionalProperties: false, title: 'OidcProviderConfig' },
);

export const SamlConfigInput = Type.Object(
  {
    idp_metadata_url: Type.Optional(Nullable(Url('The IdP’s metadata, read at create, update and test'))),
    idp_metadata_xml: Type.Optional(
      Nullable(Type.String({ maxLength: 200_000, description: 'The IdP’s metadata as XML' })),
    ),
    idp_entity_id: Type.Optional(Text(1024, 'From the metadata unless given')),
    idp_sso_url: Type.Optional(
      Url('The IdP’s single sign-on URL (HTTP-Redirect); from the metadata unless given'),
    ),
    idp_certificates: Type.Optional(
      Type.Array(Type.String({ maxLength: 16_384 }), {
        maxItems: 10,
        description: 'PEM or base64 signing certificates; from the metadata unless given',
      }),
    ),
    sp_entity_id: Type.Optional(Nullable(Text(1024, 'ScaiKey’s entity id; default the SP metadata URL'))),
    signature_required: Type.Optional(
      Type.Unsafe<'assertion' | 'response' | 'both'>({
        type: 'string',
        enum: ['assertion', 'response', 'both'],
        description: 'What must be signed (default assertion); an unsigned response is always refused',
      }),
    ),
    name_id_format: Type.Optional(Text(255, 'Default urn:oasis:names:tc:SAML:2.0:nameid-format:persistent')),
    groups_attribute: Type.Optional(Text(1024, 'The attribute carrying groups (default groups)')),
    sign_requests: Type.Optional(
      Type.Boolean({ description: 'Sign AuthnRequests (needs sp_private_key and sp_certificate)' }),
    ),
    sp_private_key: Type.Optional(
      Type.String({ minLength: 1, maxLength: 16_384, description: 'PEM; write-only, sealed at rest' }),
    ),
    sp_certificate: Type.Optional(
      Nullable(Type.String({ maxLength: 16_384, description: 'PEM; published in the SP metadata' })),
    ),
    clock_skew_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 600, description: 'Default 60' })),
  },
  { additionalProperties: false, title: 'SamlProviderConfig' },
);

export const LdapConfigInput = Type.Object(
  {
    directory_type: Type.Optional(
      Type.Unsafe<'OPENLDAP' | 'ACTIVE_DIRECTORY'>({
        type: 'string',
        enum: ['OPENLDAP', 'ACTIVE_DIRECTORY'],
        description: 'Fills the defaults of the attributes and filters (default OPENLDAP)',
      }),
    ),
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      pattern: '^ldaps?://',
      description: 'ldaps://host:636, or ldap://host:389 with start_tls',
    }),
    start_tls: Type.Optional(
      Type.Boolean({ description: 'ldap:// only: upgrade with StartTLS (default false)' }),
    ),
    allow_plain_bind: Type.Optional(
      Type.Boolean({
        description: 'Permit binds over an unencrypted connection (default false: refused)',
      }),
    ),
    tls_ca_certificate: Type.Optional(Nullable(Type.String({ maxLength: 65_536, description: 'PEM' }))),
    tls_verify: Type.Optional(
      Type.Boolean({ description: 'Verify the directory’s certificate (default true)' }),
    ),
    bind_dn: Type.String({ minLength: 1, maxLength: 1024, description: 'The service account' }),
    bind_password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'Write-only; sealed at rest' }),
    ),
    user_base_dn: Type.String({ minLength: 1, maxLength: 1024 }),
    user_filter: Type.Optional(
      Text(2048, 'Default (objectClass=inetOrgPerson); AD (&(objectCategory=person)(objectClass=user))'),
    ),
    login_attribute: Type.Optional(Text(255, 'What users type at sign-in: default mail; AD sAMAccountName')),
    id_attribute: Type.Optional(Text(255, 'The stable id: default entryUUID; AD objectGUID')),
    group_base_dn: Type.Optional(Nullable(Text(1024, 'Where groups are (default: no group sync)'))),
    group_filter: Type.Optional(Text(2048, 'Default (objectClass=groupOfNames); AD (objectClass=group)')),
    group_member_attribute: Type.Optional(Text(255, 'member (default) or uniqueMember')),
    nested_groups: Type.Optional(
      Type.Unsafe<'IN_CHAIN' | 'EXPAND' | 'NONE'>({
        type: 'string',
        enum: ['IN_CHAIN', 'EXPAND', 'NONE'],
        description: 'IN_CHAIN (AD’s LDAP_MATCHING_RULE_IN_CHAIN), EXPAND (follow member attributes), NONE',
      }),
    ),
    ou_placement: Type.Optional(
      Type.Unsafe<'DN' | 'NONE'>({
        type: 'string',
        enum: ['DN', 'NONE'],
        description: 'DN: users are placed in OUs mirroring their DN below default_ou_id (default NONE)',
      }),
    ),
    sync_interval_minutes: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10_080,
        description: 'Scheduled sync every N minutes; 0 = on demand only (default 0)',
      }),
    ),
    page_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 5000, description: 'Paged search size (default 500)' }),
    ),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, description: 'Default 10000' })),
  },
  { additionalProperties: false, title: 'LdapProviderConfig' },
);

export type OidcConfigInput = Static<typeof OidcConfigInput>;
export type SamlConfigInput = Static<typeof SamlConfigInput>;
export type LdapConfigInput = Static<typeof LdapConfigInput>;

export const PROVIDER_TYPES = ['OIDC', 'SAML', 'LDAP'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const CONFIG_INPUTS: Record<ProviderType, TSchema> = {
  OIDC: OidcConfigInput,
  SAML: SamlConfigInput,
  LDAP: LdapConfigInput,
};

/** The write-only fields of each type's config (sealed together in `identity_providers.secrets`). */
export const SECRET_FIELDS: Record<ProviderType, readonly string[]> = {
  OIDC: ['client_secret'],
  SAML: ['sp_private_key'],
  LDAP: ['bind_password'],
};

const ENTRA_ISSUER = (tenant: string) => `https://login.microsoftonline.com/${tenant}/v2.0`;
const SAML_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

/** The config as stored: the input (without secrets) completed with the type's defaults. */
export function withDefaults(type: ProviderType, input: Record<string, unknown>): Record<string, unknown> {
  const config = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  if (type === 'OIDC') {
    const preset = (config.preset as string | undefined) ?? 'generic';
    const issuer =
      preset === 'google'
        ? 'https://accounts.google.com'
        : preset === 'entra' && typeof config.entra_tenant_id === 'string'
          ? ENTRA_ISSUER(config.entra_tenant_id)
          : config.issuer;
    return {
      scopes: 'openid email profile',
      use_userinfo: false,
      groups_claim: 'groups',
      token_endpoint_auth_method: 'client_secret_basic',
      entra_tenant_id: null,
      ...config,
      preset,
      issuer,
    };
  }
  if (type === 'SAML') {
    return {
      idp_metadata_url: null,
      idp_metadata_xml: null,
      sp_entity_id: null,
      signature_required: 'assertion',
      name_id_format: SAML_PERSISTENT,
      groups_attribute: 'groups',
      sign_requests: false,
      sp_certificate: null,
      clock_skew_seconds: 60,
      idp_certificates: [],
      ...config,
    };
  }
  const ad = config.directory_type === 'ACTIVE_DIRECTORY';
  return {
    directory_type: 'OPENLDAP',
    start_tls: false,
    allow_plain_bind: false,
    tls_ca_certificate: null,
    tls_verify: true,
    user_filter: ad ? '(&(objectCategory=person)(objectClass=user))' : '(objectClass=inetOrgPerson)',
    login_attribute: ad ? 'sAMAccountName' : 'mail',
    id_attribute: ad ? 'objectGUID' : 'entryUUID',
    group_base_dn: null,
    group_filter: ad ? '(objectClass=group)' : '(objectClass=groupOfNames)',
    group_member_attribute: 'member',
    nested_groups: ad ? 'IN_CHAIN' : 'EXPAND',
    ou_placement: 'NONE',
    sync_interval_minutes: 0,
    page_size: 500,
    timeout_ms: 10_000,
    ...config,
  };
}

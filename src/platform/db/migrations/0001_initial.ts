import { type Kysely, sql } from 'kysely';

/**
 * The whole directory schema (issue 2). Every tenant-owned table has `tenant_id not null` leading
 * its primary key, unique keys and indexes. Constraint and index names are part of the contract:
 * src/platform/errors.ts maps them to error codes.
 */
const statements = [
  `create table partners (
    id text primary key,
    name text not null,
    slug text not null,
    status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED')),
    contact_email text,
    max_tenants integer check (max_tenants >= 0),
    max_users_per_tenant integer check (max_users_per_tenant >= 0),
    max_applications_per_tenant integer check (max_applications_per_tenant >= 0),
    is_platform boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz
  )`,
  `create unique index partners_slug_live_key on partners (slug) where deleted_at is null`,
  `create unique index partners_one_platform_key on partners (is_platform) where is_platform`,

  `create table tenants (
    id text primary key,
    partner_id text not null references partners (id),
    name text not null,
    slug text not null,
    status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED')),
    contact_email text,
    settings jsonb not null default '{}',
    branding jsonb not null default '{}',
    is_platform boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz
  )`,
  `create unique index tenants_slug_live_key on tenants (slug) where deleted_at is null`,
  `create unique index tenants_one_platform_key on tenants (is_platform) where is_platform`,
  `create index tenants_partner_idx on tenants (partner_id, created_at) where deleted_at is null`,

  `create table ous (
    tenant_id text not null references tenants (id),
    id text not null,
    parent_id text,
    name text not null,
    description text,
    path text not null,
    depth integer not null default 0,
    custom_attributes jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    primary key (tenant_id, id),
    constraint ous_parent_fkey foreign key (tenant_id, parent_id) references ous (tenant_id, id)
  )`,
  `create unique index ous_sibling_name_key on ous (tenant_id, coalesce(parent_id, ''), lower(name))`,
  `create index ous_path_idx on ous (tenant_id, path text_pattern_ops)`,
  `create index ous_parent_idx on ous (tenant_id, parent_id)`,

  `create table users (
    tenant_id text not null references tenants (id),
    id text not null,
    email text not null,
    username text,
    first_name text,
    last_name text,
    display_name text,
    phone text,
    locale text not null default 'en',
    timezone text not null default 'UTC',
    password_hash text,
    password_changed_at timestamptz,
    password_history jsonb not null default '[]',
    require_password_change boolean not null default false,
    status text not null default 'ACTIVE'
      check (status in ('ACTIVE', 'PENDING_EMAIL_VERIFICATION', 'PENDING_APPROVAL', 'DISABLED', 'LOCKED')),
    status_reason text,
    identity_source text not null default 'LOCAL' check (identity_source in ('LOCAL', 'OIDC', 'SAML', 'SCIM', 'LDAP')),
    email_verified boolean not null default false,
    avatar_url text,
    ou_id text,
    mfa_enabled boolean not null default false,
    failed_login_attempts integer not null default 0,
    locked_until timestamptz,
    last_login_at timestamptz,
    custom_attributes jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    primary key (tenant_id, id),
    constraint users_ou_fkey foreign key (tenant_id, ou_id) references ous (tenant_id, id)
  )`,
  `create unique index users_email_live_key on users (tenant_id, lower(email)) where deleted_at is null`,
  `create index users_ou_idx on users (tenant_id, ou_id) where deleted_at is null`,
  `create index users_created_idx on users (tenant_id, created_at desc, id desc) where deleted_at is null`,

  `create table mfa_factors (
    tenant_id text not null,
    id text not null,
    user_id text not null,
    factor_type text not null check (factor_type in ('TOTP', 'EMAIL', 'SMS', 'WEBAUTHN', 'BACKUP_CODES')),
    secret text,
    label text,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint mfa_factors_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id)
  )`,
  `create index mfa_factors_user_idx on mfa_factors (tenant_id, user_id)`,

  `create table groups (
    tenant_id text not null references tenants (id),
    id text not null,
    name text not null,
    description text,
    group_type text not null default 'SECURITY' check (group_type in ('SECURITY', 'DISTRIBUTION')),
    parent_group_id text,
    custom_attributes jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    primary key (tenant_id, id),
    constraint groups_parent_fkey foreign key (tenant_id, parent_group_id) references groups (tenant_id, id)
  )`,
  `create unique index groups_name_live_key on groups (tenant_id, lower(name)) where deleted_at is null`,
  `create index groups_parent_idx on groups (tenant_id, parent_group_id) where deleted_at is null`,

  `create table group_edges (
    tenant_id text not null,
    parent_group_id text not null,
    child_group_id text not null,
    kind text not null check (kind in ('HIERARCHY', 'NESTED')),
    created_at timestamptz not null default now(),
    primary key (tenant_id, parent_group_id, child_group_id),
    constraint group_edges_parent_fkey foreign key (tenant_id, parent_group_id) references groups (tenant_id, id),
    constraint group_edges_child_fkey foreign key (tenant_id, child_group_id) references groups (tenant_id, id),
    constraint group_edges_no_self_loop check (parent_group_id <> child_group_id)
  )`,
  `create index group_edges_child_idx on group_edges (tenant_id, child_group_id)`,

  `create table group_memberships (
    tenant_id text not null,
    group_id text not null,
    user_id text not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, group_id, user_id),
    constraint group_memberships_group_fkey foreign key (tenant_id, group_id) references groups (tenant_id, id),
    constraint group_memberships_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id)
  )`,
  `create index group_memberships_user_idx on group_memberships (tenant_id, user_id)`,

  `create table applications (
    id text primary key,
    scope text not null check (scope in ('GLOBAL', 'PARTNER', 'TENANT')),
    partner_id text references partners (id),
    tenant_id text references tenants (id),
    application_type text not null check (application_type in ('WEB', 'SERVICE', 'SPA', 'NATIVE')),
    name text not null,
    description text,
    client_secret_digest text,
    secret_rotated_at timestamptz,
    redirect_uris jsonb not null default '[]',
    post_logout_redirect_uris jsonb not null default '[]',
    allowed_origins jsonb not null default '[]',
    allowed_scopes jsonb not null default '[]',
    token_lifetime integer not null default 3600 check (token_lifetime between 60 and 86400),
    assignment_required boolean not null default false,
    status text not null default 'ACTIVE' check (status in ('ACTIVE', 'DISABLED')),
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    constraint applications_scope_owner check (
      (scope = 'GLOBAL' and partner_id is null and tenant_id is null)
      or (scope = 'PARTNER' and partner_id is not null and tenant_id is null)
      or (scope = 'TENANT' and partner_id is not null and tenant_id is not null)
    )
  )`,
  `create index applications_tenant_idx on applications (tenant_id) where deleted_at is null`,
  `create index applications_partner_idx on applications (partner_id) where deleted_at is null`,

  `create table application_assignments (
    tenant_id text not null references tenants (id),
    application_id text not null references applications (id),
    principal_type text not null check (principal_type in ('USER', 'GROUP')),
    principal_id text not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, application_id, principal_type, principal_id)
  )`,
  `create index application_assignments_principal_idx on application_assignments (tenant_id, principal_type, principal_id)`,

  `create table admin_role_assignments (
    user_tenant_id text not null,
    id text not null,
    user_id text not null,
    role text not null check (role in ('SUPER_ADMIN', 'PARTNER_ADMIN', 'TENANT_ADMIN')),
    partner_id text references partners (id),
    tenant_id text references tenants (id),
    expires_at timestamptz,
    is_active boolean not null default true,
    created_by text,
    created_at timestamptz not null default now(),
    primary key (user_tenant_id, id),
    constraint admin_role_assignments_user_fkey foreign key (user_tenant_id, user_id) references users (tenant_id, id),
    constraint admin_role_assignments_target check (
      (role = 'SUPER_ADMIN' and partner_id is null and tenant_id is null)
      or (role = 'PARTNER_ADMIN' and partner_id is not null and tenant_id is null)
      or (role = 'TENANT_ADMIN' and tenant_id is not null)
    )
  )`,
  `create unique index admin_role_assignments_id_key on admin_role_assignments (id)`,
  `create index admin_role_assignments_user_idx on admin_role_assignments (user_tenant_id, user_id)`,

  `create table identity_providers (
    tenant_id text not null references tenants (id),
    id text not null,
    name text not null,
    provider_type text not null check (provider_type in ('OIDC', 'SAML', 'LDAP', 'SCIM')),
    config jsonb not null default '{}',
    status text not null default 'ACTIVE' check (status in ('ACTIVE', 'DISABLED')),
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    primary key (tenant_id, id)
  )`,

  `create table federated_identities (
    tenant_id text not null,
    id text not null,
    user_id text not null,
    identity_provider_id text not null,
    subject text not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint federated_identities_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id),
    constraint federated_identities_idp_fkey foreign key (tenant_id, identity_provider_id)
      references identity_providers (tenant_id, id)
  )`,
  `create unique index federated_identities_subject_key on federated_identities (tenant_id, identity_provider_id, subject)`,
  `create index federated_identities_user_idx on federated_identities (tenant_id, user_id)`,

  `create table signing_keys (
    kid text primary key,
    alg text not null,
    public_jwk jsonb not null,
    private_key_pem text not null,
    status text not null check (status in ('ACTIVE', 'RETIRED')),
    created_at timestamptz not null default now(),
    retired_at timestamptz,
    expires_at timestamptz
  )`,
  `create unique index signing_keys_one_active_key on signing_keys (alg) where status = 'ACTIVE'`,

  `create table audit_events (
    id text primary key,
    tenant_id text,
    partner_id text,
    actor_type text not null,
    actor_id text,
    action text not null,
    resource_type text not null,
    resource_id text,
    before jsonb,
    after jsonb,
    result text not null default 'SUCCESS',
    ip_address text,
    request_id text,
    created_at timestamptz not null default now()
  )`,
  `create index audit_events_tenant_idx on audit_events (tenant_id, created_at desc)`,
  `create index audit_events_resource_idx on audit_events (resource_type, resource_id, created_at desc)`,

  `create table oidc_payloads (
    model text not null,
    id text not null,
    payload jsonb not null,
    grant_id text,
    user_code text,
    uid text,
    expires_at timestamptz,
    consumed_at timestamptz,
    primary key (model, id)
  )`,
  `create index oidc_payloads_grant_idx on oidc_payloads (grant_id) where grant_id is not null`,
  `create index oidc_payloads_uid_idx on oidc_payloads (uid) where uid is not null`,
  `create index oidc_payloads_expiry_idx on oidc_payloads (expires_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('The initial migration cannot be reverted');
}

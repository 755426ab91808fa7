import { type Kysely, sql } from 'kysely';

/**
 * Federation (issue 15): identity providers as configured per tenant, the links of users to them,
 * sign-ins in progress through them, SAML replay protection and LDAP sync runs.
 *
 * - `identity_providers` (from 0001) gains what the admin API configures: the button label,
 *   home-realm email domains, the JIT / link-by-email / trust-upstream-MFA switches, the attribute
 *   and group mappings, a default OU, and `secrets`: the provider's secrets (client secret, bind
 *   password, SP private key) sealed as one SecretBox value bound to the provider id.
 * - `federated_identities` gains what the last sign-in or sync saw: the upstream DN (LDAP), the
 *   upstream groups, when it was last used, and `removed_at` when a sync no longer found it.
 * - `federation_logins`: one row per redirect to an upstream provider (its `id` is the OAuth
 *   `state` / the SAML RelayState): the interaction it belongs to, the nonce, the PKCE verifier,
 *   the SAML request id; after the callback, the verified upstream identity until the interaction
 *   consumes it (once).
 * - `saml_assertions`: the ids of accepted assertions until they expire (replays are refused).
 * - `ldap_sync_runs`: one row per sync of a directory; at most one running per provider (the
 *   partial unique index), claimed with a lease so that a run of a killed instance is taken over.
 */
const statements = [
  `alter table identity_providers
    add column description text,
    add column button_label text,
    add column email_domains jsonb not null default '[]',
    add column jit_provisioning boolean not null default true,
    add column link_by_email boolean not null default false,
    add column trust_upstream_mfa boolean not null default false,
    add column attribute_mapping jsonb not null default '{}',
    add column group_mapping jsonb not null default '[]',
    add column default_ou_id text,
    add column secrets text,
    add column created_by text`,
  `create index identity_providers_tenant_idx on identity_providers (tenant_id, created_at, id)
    where deleted_at is null`,

  `alter table federated_identities
    add column external_dn text,
    add column upstream_groups jsonb not null default '[]',
    add column last_login_at timestamptz,
    add column updated_at timestamptz,
    add column removed_at timestamptz`,

  `create table federation_logins (
    tenant_id text not null,
    id text not null,
    identity_provider_id text not null,
    interaction_uid text not null,
    nonce text,
    code_verifier text,
    request_id text,
    identity jsonb,
    status text not null default 'PENDING' check (status in ('PENDING', 'VERIFIED', 'USED')),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    primary key (tenant_id, id)
  )`,
  `create index federation_logins_expires_idx on federation_logins (expires_at)`,

  `create table saml_assertions (
    tenant_id text not null,
    identity_provider_id text not null,
    assertion_id text not null,
    expires_at timestamptz not null,
    primary key (tenant_id, identity_provider_id, assertion_id)
  )`,
  `create index saml_assertions_expires_idx on saml_assertions (expires_at)`,

  `create table ldap_sync_runs (
    tenant_id text not null,
    id text not null,
    identity_provider_id text not null,
    status text not null default 'RUNNING' check (status in ('RUNNING', 'SUCCEEDED', 'FAILED')),
    trigger text not null check (trigger in ('MANUAL', 'SCHEDULED')),
    requested_by text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    lease_until timestamptz,
    counts jsonb not null default '{}',
    error text,
    primary key (tenant_id, id)
  )`,
  `create unique index ldap_sync_runs_one_running on ldap_sync_runs (tenant_id, identity_provider_id)
    where status = 'RUNNING'`,
  `create index ldap_sync_runs_idp_idx on ldap_sync_runs (tenant_id, identity_provider_id, started_at desc)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}

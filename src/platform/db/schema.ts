import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A timestamptz column: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string | undefined, string>;
type JsonRequired<T> = ColumnType<T, string, string>;

export interface PartnersTable {
  id: string;
  name: string;
  slug: string;
  status: Generated<'ACTIVE' | 'SUSPENDED'>;
  contact_email: string | null;
  max_tenants: number | null;
  max_users_per_tenant: number | null;
  max_applications_per_tenant: number | null;
  is_platform: Generated<boolean>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export interface TenantsTable {
  id: string;
  partner_id: string;
  name: string;
  slug: string;
  status: Generated<'ACTIVE' | 'SUSPENDED'>;
  contact_email: string | null;
  settings: Json<Record<string, unknown>>;
  branding: Json<Record<string, unknown>>;
  is_platform: Generated<boolean>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export type UserStatus = 'ACTIVE' | 'PENDING_EMAIL_VERIFICATION' | 'PENDING_APPROVAL' | 'DISABLED' | 'LOCKED';
export type IdentitySource = 'LOCAL' | 'OIDC' | 'SAML' | 'SCIM' | 'LDAP';

export interface UsersTable {
  tenant_id: string;
  id: string;
  email: string;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  phone: string | null;
  locale: Generated<string>;
  timezone: Generated<string>;
  password_hash: string | null;
  password_changed_at: Timestamp | null;
  password_history: Json<string[]>;
  require_password_change: Generated<boolean>;
  status: Generated<UserStatus>;
  status_reason: string | null;
  identity_source: Generated<IdentitySource>;
  email_verified: Generated<boolean>;
  avatar_url: string | null;
  ou_id: string | null;
  mfa_enabled: Generated<boolean>;
  failed_login_attempts: Generated<number>;
  locked_until: Timestamp | null;
  last_login_at: Timestamp | null;
  custom_attributes: Json<Record<string, unknown> | null>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export interface OusTable {
  tenant_id: string;
  id: string;
  parent_id: string | null;
  name: string;
  description: string | null;
  path: string;
  depth: Generated<number>;
  custom_attributes: Json<Record<string, unknown> | null>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  name: string;
  description: string | null;
  group_type: Generated<'SECURITY' | 'DISTRIBUTION'>;
  parent_group_id: string | null;
  custom_attributes: Json<Record<string, unknown> | null>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export interface GroupEdgesTable {
  tenant_id: string;
  parent_group_id: string;
  child_group_id: string;
  kind: 'HIERARCHY' | 'NESTED';
  created_at: DefaultTimestamp;
}

export interface GroupMembershipsTable {
  tenant_id: string;
  group_id: string;
  user_id: string;
  created_at: DefaultTimestamp;
}

/** Maintained closure of the group graph (migration 0002): every path-connected pair, with path counts. */
export interface GroupClosureTable {
  tenant_id: string;
  ancestor_group_id: string;
  descendant_group_id: string;
  path_count: number;
}

/** Maintained effective membership (migration 0002): every user reachable from a group. */
export interface GroupEffectiveMembersTable {
  tenant_id: string;
  group_id: string;
  user_id: string;
  path_count: number;
  /** The user is also a direct member of the group (migration 0019). */
  direct: Generated<boolean>;
}

/** Live direct and effective members per live group, kept exact by the groups repository (migration 0019). */
export interface GroupMemberCountsTable {
  tenant_id: string;
  group_id: string;
  direct_count: Generated<number>;
  effective_count: Generated<number>;
}

export type ApplicationScope = 'GLOBAL' | 'PARTNER' | 'TENANT';
export type ApplicationType = 'WEB' | 'SERVICE' | 'SPA' | 'NATIVE';

export interface ApplicationsTable {
  id: string;
  scope: ApplicationScope;
  partner_id: string | null;
  tenant_id: string | null;
  application_type: ApplicationType;
  name: string;
  description: string | null;
  client_secret_digest: string | null;
  secret_rotated_at: Timestamp | null;
  redirect_uris: Json<string[]>;
  post_logout_redirect_uris: Json<string[]>;
  allowed_origins: Json<string[]>;
  allowed_scopes: Json<string[]>;
  token_lifetime: Generated<number>;
  assignment_required: Generated<boolean>;
  require_pushed_authorization_requests: Generated<boolean>;
  status: Generated<'ACTIVE' | 'DISABLED'>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export interface AdminRoleAssignmentsTable {
  user_tenant_id: string;
  id: string;
  user_id: string;
  role: 'SUPER_ADMIN' | 'PARTNER_ADMIN' | 'TENANT_ADMIN';
  partner_id: string | null;
  tenant_id: string | null;
  expires_at: Timestamp | null;
  is_active: Generated<boolean>;
  created_by: string | null;
  created_at: DefaultTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: JsonRequired<Record<string, unknown>>;
  private_key_pem: string;
  status: 'ACTIVE' | 'RETIRED';
  created_at: DefaultTimestamp;
  retired_at: Timestamp | null;
  expires_at: Timestamp | null;
}

export interface AuditEventsTable {
  id: string;
  tenant_id: string | null;
  partner_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  before: Json<Record<string, unknown> | null>;
  after: Json<Record<string, unknown> | null>;
  result: Generated<string>;
  ip_address: string | null;
  request_id: string | null;
  created_at: DefaultTimestamp;
}

export interface EventOutboxTable {
  seq: Generated<number>;
  id: string;
  type: string;
  tenant_id: string | null;
  partner_id: string | null;
  resource_type: string;
  resource_id: string | null;
  data: Json<Record<string, unknown> | null>;
  request_id: string | null;
  created_at: DefaultTimestamp;
  /** The writing transaction's id (xid8, read as text): events are read in (txid, seq) order. */
  txid: Generated<string>;
  actor_type: string | null;
  actor_id: string | null;
}

/** A webhook endpoint (migration 0015); tenant_id / partner_id / neither = its scope. */
export interface WebhookEndpointsTable {
  id: string;
  url: string;
  description: string | null;
  events: JsonRequired<string[]>;
  tenant_id: string | null;
  partner_id: string | null;
  enabled: Generated<boolean>;
  status: Generated<WebhookStatus>;
  /** Sealed (SecretBox, context = the endpoint id). */
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  secret_rotated_at: Timestamp | null;
  consecutive_failures: Generated<number>;
  last_success_at: Timestamp | null;
  last_failure_at: Timestamp | null;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export type WebhookStatus = 'active' | 'failing' | 'disabled';
export type WebhookDeliveryStatus = 'pending' | 'in_flight' | 'succeeded' | 'failed';

export interface WebhookDeliveriesTable {
  /** bigint, read as a string by the drivers. */
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_txid: string | null;
  event_seq: string | null;
  resource_key: string;
  body: string;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: DefaultTimestamp;
  lease_until: Timestamp | null;
  last_attempt_at: Timestamp | null;
  last_response_code: number | null;
  last_response_ms: number | null;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: DefaultTimestamp;
  completed_at: Timestamp | null;
}

export interface WebhookDeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: Timestamp;
  response_code: number | null;
  response_ms: number | null;
  error: string | null;
  next_attempt_at: Timestamp | null;
}

export interface WebhookFanoutTable {
  id: number;
  txid: string | null;
  seq: string | null;
  updated_at: DefaultTimestamp;
}

export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: JsonRequired<Record<string, unknown>>;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
}

export interface UserActionTokensTable {
  tenant_id: string;
  id: string;
  user_id: string;
  purpose: 'INVITATION' | 'PASSWORD_RESET' | 'EMAIL_VERIFICATION';
  token_digest: string;
  redirect_uri: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: DefaultTimestamp;
}

/** What ScaiKey records of an oidc-provider session (migration 0011). */
export interface UserSessionsTable {
  tenant_id: string;
  id: string;
  user_id: string;
  session_uid: string;
  ip_address: string | null;
  user_agent: string | null;
  created_at: DefaultTimestamp;
  last_active_at: DefaultTimestamp;
}

export interface EmailOutboxTable {
  id: string;
  tenant_id: string | null;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  kind: string;
  status: Generated<'PENDING' | 'SENT' | 'LOGGED' | 'FAILED'>;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: DefaultTimestamp;
  sent_at: Timestamp | null;
}

export interface MfaFactorsTable {
  tenant_id: string;
  id: string;
  user_id: string;
  factor_type: 'TOTP' | 'EMAIL' | 'SMS' | 'WEBAUTHN' | 'BACKUP_CODES';
  secret: string | null;
  label: string | null;
  created_at: DefaultTimestamp;
  confirmed_at: Timestamp | null;
  last_used_at: Timestamp | null;
  /** bigint: a string from node-postgres, a number from PGlite; written as a number. */
  totp_last_step: ColumnType<string | number | null, number | null | undefined, number | null>;
  credential_id: string | null;
  credential: Json<Record<string, unknown>> | null;
}

export interface MfaBackupCodesTable {
  tenant_id: string;
  user_id: string;
  code_hash: string;
  created_at: DefaultTimestamp;
  used_at: Timestamp | null;
}

export interface MfaChallengesTable {
  tenant_id: string;
  id: string;
  token_hash: string;
  user_id: string | null;
  purpose: string;
  interaction_uid: string | null;
  client_id: string | null;
  /** Space-separated methods already passed (RFC 8176 values). */
  amr: Generated<string>;
  code_hash: string | null;
  code_expires_at: Timestamp | null;
  /** Where the code went: EMAIL or SMS. */
  code_channel: string | null;
  webauthn_challenge: string | null;
  pending_factor_id: string | null;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
}

export interface IdentityProvidersTable {
  tenant_id: string;
  id: string;
  name: string;
  provider_type: 'OIDC' | 'SAML' | 'LDAP' | 'SCIM';
  config: Json<Record<string, unknown>>;
  status: Generated<'ACTIVE' | 'DISABLED'>;
  created_at: DefaultTimestamp;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
  description: string | null;
  button_label: string | null;
  email_domains: Json<string[]>;
  jit_provisioning: Generated<boolean>;
  link_by_email: Generated<boolean>;
  trust_upstream_mfa: Generated<boolean>;
  attribute_mapping: Json<Record<string, unknown>>;
  group_mapping: Json<Record<string, unknown>[]>;
  default_ou_id: string | null;
  /** The provider's secrets, sealed (SecretBox) as one JSON object bound to the provider id. */
  secrets: string | null;
  created_by: string | null;
}

export interface FederatedIdentitiesTable {
  tenant_id: string;
  id: string;
  user_id: string;
  identity_provider_id: string;
  subject: string;
  created_at: DefaultTimestamp;
  external_dn: string | null;
  upstream_groups: Json<string[]>;
  last_login_at: Timestamp | null;
  updated_at: Timestamp | null;
  removed_at: Timestamp | null;
}

export interface FederationLoginsTable {
  tenant_id: string;
  id: string;
  identity_provider_id: string;
  interaction_uid: string;
  nonce: string | null;
  code_verifier: string | null;
  request_id: string | null;
  identity: Json<Record<string, unknown>> | null;
  status: Generated<'PENDING' | 'VERIFIED' | 'USED'>;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
}

export interface SamlAssertionsTable {
  tenant_id: string;
  identity_provider_id: string;
  assertion_id: string;
  expires_at: Timestamp;
}

export interface LdapSyncRunsTable {
  tenant_id: string;
  id: string;
  identity_provider_id: string;
  status: Generated<'RUNNING' | 'SUCCEEDED' | 'FAILED'>;
  trigger: 'MANUAL' | 'SCHEDULED';
  requested_by: string | null;
  started_at: DefaultTimestamp;
  finished_at: Timestamp | null;
  lease_until: Timestamp | null;
  counts: Json<Record<string, number>>;
  error: string | null;
}

export interface ApplicationAssignmentsTable {
  tenant_id: string;
  application_id: string;
  principal_type: 'USER' | 'GROUP';
  principal_id: string;
  created_at: DefaultTimestamp;
}

export interface InstanceSecretsTable {
  name: string;
  value: string;
  created_at: DefaultTimestamp;
}

export interface RevokedTokensTable {
  jti: string;
  expires_at: Timestamp;
  revoked_at: DefaultTimestamp;
}

export interface TenantCountsTable {
  tenant_id: string;
  shard: number;
  users: Generated<number>;
  groups: Generated<number>;
  ous: Generated<number>;
}

export interface RateLimitsTable {
  key: string;
  hits: number;
  expires_at: Timestamp;
}

export interface Database {
  rate_limits: RateLimitsTable;
  tenant_counts: TenantCountsTable;
  instance_secrets: InstanceSecretsTable;
  revoked_tokens: RevokedTokensTable;
  application_assignments: ApplicationAssignmentsTable;
  user_action_tokens: UserActionTokensTable;
  email_outbox: EmailOutboxTable;
  mfa_factors: MfaFactorsTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_challenges: MfaChallengesTable;
  identity_providers: IdentityProvidersTable;
  federated_identities: FederatedIdentitiesTable;
  federation_logins: FederationLoginsTable;
  saml_assertions: SamlAssertionsTable;
  ldap_sync_runs: LdapSyncRunsTable;
  partners: PartnersTable;
  tenants: TenantsTable;
  users: UsersTable;
  ous: OusTable;
  groups: GroupsTable;
  group_edges: GroupEdgesTable;
  group_memberships: GroupMembershipsTable;
  group_closure: GroupClosureTable;
  group_effective_members: GroupEffectiveMembersTable;
  group_member_counts: GroupMemberCountsTable;
  applications: ApplicationsTable;
  admin_role_assignments: AdminRoleAssignmentsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  event_outbox: EventOutboxTable;
  oidc_payloads: OidcPayloadsTable;
  user_sessions: UserSessionsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  webhook_fanout: WebhookFanoutTable;
}

export type PartnerRow = Selectable<PartnersTable>;
export type TenantRow = Selectable<TenantsTable>;
export type UserRow = Selectable<UsersTable>;
export type OuRow = Selectable<OusTable>;
export type ApplicationRow = Selectable<ApplicationsTable>;
export type NewApplication = Insertable<ApplicationsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type PartnerUpdate = Updateable<PartnersTable>;
export type TenantUpdate = Updateable<TenantsTable>;

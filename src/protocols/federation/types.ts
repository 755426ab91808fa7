/**
 * What every kind of upstream identity provider hands the federation core (issue 15), and the
 * type-specific configuration each adapter reads. The adapters (oidc/, saml/, ldap/) speak their
 * protocol and return an {@link UpstreamIdentity}; the core (provisioning) finds, links or creates
 * the ScaiKey user from it, applies the mappings and finishes the sign-in.
 */

/** A user as the upstream provider vouched for it, after every protocol check passed. */
export interface UpstreamIdentity {
  /**
   * The stable key of the user at the provider: the OIDC `sub`, the SAML NameID (persistent), or
   * the LDAP `entryUUID` / AD `objectGUID` (as a lowercase UUID string). Never the email.
   */
  subject: string;
  /** The email the provider gave, if any (mapped by the provider's attribute mapping). */
  email: string | null;
  /** Whether the provider vouches for the email (OIDC `email_verified`; SAML and LDAP: true). */
  emailVerified: boolean;
  /** Every attribute / claim as received (values: string, string[], boolean, number). */
  attributes: Record<string, unknown>;
  /** The user's upstream groups (OIDC groups claim, SAML group attribute, LDAP group DNs). */
  groups: string[];
  /** How the user signed in upstream (OIDC `amr`, SAML AuthnContextClassRef mapped), if said. */
  amr: string[];
  /** LDAP: the entry's DN (also the source of OU placement from the DN). */
  dn?: string;
}

/** Upstream OpenID Connect (openid-client). `client_secret` is write-only (sealed at rest). */
export interface OidcProviderConfig {
  /** `generic` (any issuer), `google`, `entra` (Microsoft Entra ID: issuer from `entra_tenant_id`). */
  preset: 'generic' | 'google' | 'entra';
  /** The issuer; discovery reads `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  client_id: string;
  client_secret?: string;
  /** Entra ID: the directory (tenant) id or domain; the issuer is then derived. */
  entra_tenant_id?: string | null;
  /** Space-separated; default `openid email profile`. */
  scopes: string;
  /** Also call userinfo after the token exchange and merge its claims. */
  use_userinfo: boolean;
  /** The claim carrying the user's groups (default `groups`). */
  groups_claim: string;
  /** Token endpoint authentication: client_secret_basic (default), client_secret_post, none (PKCE only). */
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/** SAML 2.0 service provider (@node-saml/node-saml). `sp_private_key` is write-only. */
export interface SamlProviderConfig {
  /** The IdP metadata by URL (fetched at create/update/test) or as XML; one of the two. */
  idp_metadata_url?: string | null;
  idp_metadata_xml?: string | null;
  /** Read from the metadata (or given): the IdP entity id, its SSO URL (HTTP-Redirect), certificates. */
  idp_entity_id: string;
  idp_sso_url: string;
  idp_certificates: string[];
  /** Our entity id; default the SP metadata URL. */
  sp_entity_id?: string | null;
  /** Which must be signed: `assertion` (default), `response`, or `both`. One at least, always. */
  signature_required: 'assertion' | 'response' | 'both';
  name_id_format: string;
  /** The attribute carrying groups (e.g. `groups`, `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`). */
  groups_attribute: string;
  /** Sign AuthnRequests with the SP key (generated at create; its certificate is in our metadata). */
  sign_requests: boolean;
  sp_private_key?: string;
  sp_certificate?: string | null;
  clock_skew_seconds: number;
}

/** LDAP / Active Directory (ldapts). `bind_password` is write-only. */
export interface LdapProviderConfig {
  directory_type: 'OPENLDAP' | 'ACTIVE_DIRECTORY';
  /** `ldaps://host:636` or `ldap://host:389` (then `start_tls` or `allow_plain_bind`). */
  url: string;
  start_tls: boolean;
  /** Permit binds over an unencrypted connection (off by default; refused otherwise). */
  allow_plain_bind: boolean;
  /** PEM of the CA that signed the directory's certificate (else the system's CAs). */
  tls_ca_certificate?: string | null;
  /** Verify the directory's certificate (default true). */
  tls_verify: boolean;
  bind_dn: string;
  bind_password?: string;
  user_base_dn: string;
  /** e.g. `(objectClass=inetOrgPerson)`, AD `(&(objectCategory=person)(objectClass=user))`. */
  user_filter: string;
  /** What users type at sign-in: `mail`, `uid`, `sAMAccountName`, `userPrincipalName`. */
  login_attribute: string;
  /** `entryUUID` (OpenLDAP) or `objectGUID` (AD). */
  id_attribute: string;
  group_base_dn?: string | null;
  group_filter: string;
  /** `member` (groupOfNames, AD) or `uniqueMember` (groupOfUniqueNames). */
  group_member_attribute: string;
  /** IN_CHAIN (AD LDAP_MATCHING_RULE_IN_CHAIN), EXPAND (follow member attributes), NONE. */
  nested_groups: 'IN_CHAIN' | 'EXPAND' | 'NONE';
  /** OU placement: from the entry's DN (OU tree mirrored under default_ou_id) or none. */
  ou_placement: 'DN' | 'NONE';
  /** Minutes between scheduled syncs; 0 = on demand only. */
  sync_interval_minutes: number;
  page_size: number;
  timeout_ms: number;
}

/** Which config goes with which provider type. */
export interface ProviderConfigs {
  OIDC: OidcProviderConfig;
  SAML: SamlProviderConfig;
  LDAP: LdapProviderConfig;
}
export type ProviderType = keyof ProviderConfigs;

/** The result of `POST …/{idp_id}/test`: each check with what it found or why it failed. */
export interface ConnectionCheck {
  name: string;
  ok: boolean;
  detail: string;
}

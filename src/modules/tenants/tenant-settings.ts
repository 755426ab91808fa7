import { type Static, Type } from 'typebox';
import type { PageBranding } from '../../lib/html-page.js';
import { EmailAddress } from '../../platform/schemas.js';

const MfaMethod = Type.Unsafe<'totp' | 'sms' | 'email' | 'webauthn'>({
  type: 'string',
  enum: ['totp', 'sms', 'email', 'webauthn'],
});

export const PasswordPolicy = Type.Object(
  {
    min_length: Type.Optional(Type.Integer({ minimum: 8, maximum: 128 })),
    require_uppercase: Type.Optional(Type.Boolean()),
    require_lowercase: Type.Optional(Type.Boolean()),
    require_digit: Type.Optional(Type.Boolean()),
    require_symbol: Type.Optional(Type.Boolean()),
    history: Type.Optional(Type.Integer({ minimum: 0, maximum: 24 })),
    max_age_days: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 3650, description: '0 = passwords never expire' }),
    ),
  },
  { additionalProperties: false, title: 'PasswordPolicy' },
);

export const LockoutPolicy = Type.Object(
  {
    max_failed_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    lockout_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 43200 })),
  },
  { additionalProperties: false, title: 'LockoutPolicy' },
);

const DOMAIN_PATTERN = '^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$';

/**
 * Email domains of the tenant's users, for home-realm discovery on the platform sign-in page.
 * Only a super_admin writes tenant settings, so a listed domain is vouched for by the operator.
 */
const EmailDomains = Type.Array(Type.String({ pattern: DOMAIN_PATTERN, maxLength: 253 }), {
  uniqueItems: true,
  maxItems: 100,
  description:
    'Lower-case email domains of this tenant: the platform sign-in page sends an address of one of them ' +
    'straight to this tenant (home-realm discovery)',
});

/** How long the tenant's audit entries are kept (docs/api-decisions.md, "Audit log"). */
const AuditRetentionDays = Type.Integer({
  minimum: 0,
  maximum: 36500,
  description: 'Days the tenant’s audit entries are kept, then deleted; 0 = kept forever',
});

/** Whether users of an identity provider may also have a local password (docs/federation.md). */
const FederatedLocalPasswords = Type.Boolean({
  description:
    'Users whose identity_source is OIDC, SAML or LDAP may be given a local password too (reset, link); default false: 409 LOCAL_PASSWORD_NOT_ALLOWED',
});

/** Tenant settings as a request may send them: every key optional, unknown keys refused. */
export const TenantSettingsInput = Type.Object(
  {
    mfa_required: Type.Optional(Type.Boolean()),
    mfa_methods: Type.Optional(Type.Array(MfaMethod, { uniqueItems: true })),
    password_policy: Type.Optional(PasswordPolicy),
    session_timeout: Type.Optional(Type.Integer({ minimum: 5, maximum: 43200, description: 'Minutes' })),
    lockout: Type.Optional(LockoutPolicy),
    email_domains: Type.Optional(EmailDomains),
    audit_retention_days: Type.Optional(AuditRetentionDays),
    federated_local_passwords: Type.Optional(FederatedLocalPasswords),
  },
  { additionalProperties: false, title: 'TenantSettings' },
);
export type TenantSettingsInput = Static<typeof TenantSettingsInput>;

/** Settings as answered: every value filled in, defaults where the tenant set nothing. */
export const TenantSettings = Type.Object(
  {
    mfa_required: Type.Boolean(),
    mfa_methods: Type.Array(MfaMethod),
    password_policy: Type.Object({
      min_length: Type.Integer(),
      require_uppercase: Type.Boolean(),
      require_lowercase: Type.Boolean(),
      require_digit: Type.Boolean(),
      require_symbol: Type.Boolean(),
      history: Type.Integer(),
      max_age_days: Type.Integer(),
    }),
    session_timeout: Type.Integer(),
    lockout: Type.Object({ max_failed_attempts: Type.Integer(), lockout_minutes: Type.Integer() }),
    email_domains: Type.Array(Type.String()),
    audit_retention_days: Type.Integer(),
    federated_local_passwords: Type.Boolean(),
  },
  { title: 'TenantSettingsResponse' },
);
export type TenantSettings = Static<typeof TenantSettings>;

export const DEFAULT_TENANT_SETTINGS: TenantSettings = {
  mfa_required: false,
  mfa_methods: ['totp', 'email', 'webauthn'],
  password_policy: {
    min_length: 12,
    require_uppercase: false,
    require_lowercase: false,
    require_digit: false,
    require_symbol: false,
    history: 0,
    max_age_days: 0,
  },
  session_timeout: 480,
  lockout: { max_failed_attempts: 5, lockout_minutes: 15 },
  email_domains: [],
  audit_retention_days: 365,
  federated_local_passwords: false,
};

/** Stored settings (only what was set) → effective settings (defaults filled in, nested objects too). */
export function effectiveSettings(stored: TenantSettingsInput): TenantSettings {
  return {
    mfa_required: stored.mfa_required ?? DEFAULT_TENANT_SETTINGS.mfa_required,
    mfa_methods: stored.mfa_methods ?? DEFAULT_TENANT_SETTINGS.mfa_methods,
    password_policy: { ...DEFAULT_TENANT_SETTINGS.password_policy, ...stored.password_policy },
    session_timeout: stored.session_timeout ?? DEFAULT_TENANT_SETTINGS.session_timeout,
    lockout: { ...DEFAULT_TENANT_SETTINGS.lockout, ...stored.lockout },
    email_domains: stored.email_domains ?? DEFAULT_TENANT_SETTINGS.email_domains,
    audit_retention_days: stored.audit_retention_days ?? DEFAULT_TENANT_SETTINGS.audit_retention_days,
    federated_local_passwords:
      stored.federated_local_passwords ?? DEFAULT_TENANT_SETTINGS.federated_local_passwords,
  };
}

/** PATCH semantics: settings merge one level deep, a key sent replaces that key's whole value. */
export function mergeSettings(stored: TenantSettingsInput, patch: TenantSettingsInput): TenantSettingsInput {
  return { ...stored, ...patch };
}

const HEX_COLOR = '^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$';
const HttpsUrl = (description: string) =>
  Type.String({ format: 'uri', pattern: '^https://[^\\s]+$', maxLength: 2048, description });
const Color = (description: string) =>
  Type.String({ pattern: HEX_COLOR, description: `${description}: #rgb or #rrggbb` });

/**
 * Branding of the tenant's hosted pages (sign-in, sign-out, errors, password links); each field is
 * rendered there (`pageBranding`). Validated because it is rendered into HTML and CSS: colours
 * are hex only, URLs https only (the pages' CSP allows https images), no free-form keys; a key
 * the pages would not show (such as a custom domain) is refused, not stored and ignored.
 */
export const TenantBranding = Type.Object(
  {
    display_name: Type.Optional(
      Type.String({ maxLength: 100, description: 'Shown on the pages instead of the tenant name' }),
    ),
    logo_url: Type.Optional(HttpsUrl('Logo shown above each page (an https image URL)')),
    favicon_url: Type.Optional(HttpsUrl('Icon of the pages (an https image URL)')),
    primary_color: Type.Optional(Color('Buttons and links')),
    background_color: Type.Optional(Color('Page background')),
    text_color: Type.Optional(Color('Page text')),
    support_email: Type.Optional(
      Type.String({ ...EmailAddress, description: 'Shown as "Need help?" on each page' }),
    ),
  },
  { additionalProperties: false, title: 'TenantBranding' },
);
export type TenantBranding = Static<typeof TenantBranding>;

/** The name a tenant shows on its pages and mails: branding display_name, else its name. */
export function tenantDisplayName(
  tenant: { name: string; branding: Record<string, unknown> } | null,
): string {
  if (!tenant) return 'ScaiKey';
  return typeof tenant.branding.display_name === 'string' ? tenant.branding.display_name : tenant.name;
}

/** What a hosted page shows of a tenant (null: the platform's pages). */
export function pageBranding(
  tenant: { name: string; branding: Record<string, unknown> } | null,
): PageBranding {
  const branding = tenant?.branding ?? {};
  return {
    name: tenantDisplayName(tenant),
    primaryColor: branding.primary_color,
    backgroundColor: branding.background_color,
    textColor: branding.text_color,
    logoUrl: branding.logo_url,
    faviconUrl: branding.favicon_url,
    supportEmail: branding.support_email,
  };
}

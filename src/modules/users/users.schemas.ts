import { type Static, Type } from 'typebox';
import { EmailAddress, Nullable, PageQuery, Timestamp, UserStatusEnum } from '../../platform/schemas.js';

export { UserStatusEnum };

export const IdentitySourceEnum = Type.Unsafe<'LOCAL' | 'OIDC' | 'SAML' | 'SCIM' | 'LDAP'>({
  type: 'string',
  enum: ['LOCAL', 'OIDC', 'SAML', 'SCIM', 'LDAP'],
});

/** the users API (docs/openapi.json) UserListItem: abbreviated user info for lists. */
export const UserListItem = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    display_name: Nullable(Type.String()),
    status: UserStatusEnum,
    ou_path: Nullable(Type.String()),
    identity_source: IdentitySourceEnum,
    mfa_enabled: Type.Boolean(),
    last_login_at: Nullable(Timestamp),
  },
  { title: 'UserListItem' },
);
export type UserListItem = Static<typeof UserListItem>;

const Email = EmailAddress;
export const ShortText = (maxLength = 255) => Nullable(Type.String({ maxLength }));
/** A BCP 47 language tag (checked against Intl by the service). */
export const Locale = Type.String({
  minLength: 2,
  maxLength: 35,
  pattern: '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$',
});
/** An IANA time zone name (checked against Intl by the service). */
export const TimeZone = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+\\-/]+$' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const CustomAttributes = Nullable(Type.Record(Type.String(), Type.Unknown()));

const userCreateFields = {
  email: Email,
  username: Type.Optional(ShortText()),
  first_name: Type.Optional(ShortText()),
  last_name: Type.Optional(ShortText()),
  display_name: Type.Optional(ShortText()),
  phone: Type.Optional(ShortText(64)),
  locale: Type.Optional(Locale),
  timezone: Type.Optional(TimeZone),
  password: Type.Optional(Nullable(Password)),
  ou_id: Type.Optional(Nullable(Type.String())),
  group_ids: Type.Optional(Type.Array(Type.String(), { maxItems: 1000, uniqueItems: true })),
  custom_attributes: Type.Optional(CustomAttributes),
  require_password_change: Type.Optional(Type.Boolean({ default: false })),
  send_welcome_email: Type.Optional(Type.Boolean({ default: true })),
};

export const UserCreate = Type.Object(userCreateFields, { additionalProperties: false, title: 'UserCreate' });
export type UserCreate = Static<typeof UserCreate>;

export const AdminUserCreate = Type.Object(
  { ...userCreateFields, tenant_id: Type.String() },
  { additionalProperties: false, title: 'AdminUserCreate' },
);
export type AdminUserCreate = Static<typeof AdminUserCreate>;

export const UserUpdate = Type.Object(
  {
    email: Type.Optional(Email),
    username: Type.Optional(ShortText()),
    first_name: Type.Optional(ShortText()),
    last_name: Type.Optional(ShortText()),
    display_name: Type.Optional(ShortText()),
    phone: Type.Optional(ShortText(64)),
    locale: Type.Optional(Nullable(Locale, { description: 'null resets to "en"' })),
    timezone: Type.Optional(Nullable(TimeZone, { description: 'null resets to "UTC"' })),
    ou_id: Type.Optional(Nullable(Type.String(), { description: 'null takes the user out of its OU' })),
    custom_attributes: Type.Optional(CustomAttributes),
  },
  { additionalProperties: false, title: 'UserUpdate' },
);
export type UserUpdate = Static<typeof UserUpdate>;

export const UserGroupMembership = Type.Object(
  {
    group_id: Type.String(),
    name: Type.String(),
    membership_type: Type.Unsafe<'DIRECT' | 'INHERITED'>({ type: 'string', enum: ['DIRECT', 'INHERITED'] }),
  },
  { title: 'UserGroupMembership' },
);

export const UserResponse = Type.Object(
  {
    email: Type.String(),
    username: Nullable(Type.String()),
    first_name: Nullable(Type.String()),
    last_name: Nullable(Type.String()),
    display_name: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    locale: Type.String(),
    timezone: Type.String(),
    id: Type.String(),
    tenant_id: Type.String(),
    email_verified: Type.Boolean(),
    avatar_url: Nullable(Type.String()),
    ou_id: Nullable(Type.String()),
    ou_path: Nullable(Type.String()),
    status: UserStatusEnum,
    identity_source: IdentitySourceEnum,
    mfa_enabled: Type.Boolean(),
    groups: Type.Optional(Type.Array(UserGroupMembership)),
    custom_attributes: Nullable(Type.Record(Type.String(), Type.Unknown())),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
    last_login_at: Nullable(Timestamp),
    password_changed_at: Nullable(Timestamp),
  },
  { title: 'UserResponse' },
);
export type UserResponse = Static<typeof UserResponse>;

export const SortBy = Type.Unsafe<'email' | 'display_name' | 'created_at' | 'last_login_at' | 'status'>({
  type: 'string',
  enum: ['email', 'display_name', 'created_at', 'last_login_at', 'status'],
  default: 'created_at',
});
export const SortOrder = Type.Unsafe<'asc' | 'desc'>({
  type: 'string',
  enum: ['asc', 'desc'],
  default: 'desc',
});

export const UserListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  status: Type.Optional(UserStatusEnum),
  ou_id: Type.Optional(Type.String()),
  group_id: Type.Optional(Type.String()),
  mfa_enabled: Type.Optional(Nullable(Type.Boolean())),
  sort_by: Type.Optional(SortBy),
  sort_order: Type.Optional(SortOrder),
  cursor: Type.Optional(
    Type.String({
      maxLength: 512,
      description:
        'Opaque keyset cursor from pagination.next_cursor: the page after it, at the cost of page 1 however deep.',
    }),
  ),
});
export type UserListQuery = Static<typeof UserListQuery>;

export const AdminUserListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  status: Type.Optional(UserStatusEnum),
  tenant_id: Type.Optional(Type.String()),
  partner_id: Type.Optional(Type.String()),
});
export type AdminUserListQuery = Static<typeof AdminUserListQuery>;

export const UserGetQuery = Type.Object({
  include: Type.Optional(
    Type.String({
      pattern: '^\\s*(groups|ou)\\s*(,\\s*(groups|ou)\\s*)*$',
      description: 'Comma list of groups, ou',
    }),
  ),
});

export const UserDeleteQuery = Type.Object({ confirm_email: Type.String({ minLength: 1, maxLength: 320 }) });

export const UserPasswordReset = Type.Object(
  {
    method: Type.Optional(
      Type.Unsafe<'EMAIL' | 'DIRECT'>({ type: 'string', enum: ['EMAIL', 'DIRECT'], default: 'EMAIL' }),
    ),
    new_password: Type.Optional(Nullable(Password)),
    redirect_uri: Type.Optional(Nullable(Type.String({ format: 'uri', maxLength: 2048 }))),
  },
  {
    additionalProperties: false,
    title: 'UserPasswordReset',
    examples: [{ method: 'EMAIL', redirect_uri: 'https://app.acme.example/signed-in' }],
  },
);
export type UserPasswordReset = Static<typeof UserPasswordReset>;

export const PasswordResetResult = Type.Object(
  {
    user_id: Type.String(),
    method: Type.String(),
    message: Type.String(),
    expires_at: Nullable(Timestamp),
  },
  { title: 'PasswordResetResult' },
);

export const UserStatusUpdate = Type.Object(
  {
    status: UserStatusEnum,
    reason: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    terminate_sessions: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false, title: 'UserStatusUpdate' },
);
export type UserStatusUpdate = Static<typeof UserStatusUpdate>;

export const IdentitySourceMismatch = Type.Object(
  {
    user_id: Type.String(),
    tenant_id: Type.String(),
    email: Type.String(),
    identity_source: IdentitySourceEnum,
    expected_identity_source: IdentitySourceEnum,
    identity_provider_ids: Type.Array(Type.String()),
    fixed: Type.Boolean(),
  },
  { title: 'IdentitySourceMismatch' },
);

export const IdentitySourceMismatchReport = Type.Object(
  {
    mismatches: Type.Array(IdentitySourceMismatch),
    total: Type.Integer(),
    fixed: Type.Integer(),
  },
  { title: 'IdentitySourceMismatchReport' },
);
export type IdentitySourceMismatchReport = Static<typeof IdentitySourceMismatchReport>;

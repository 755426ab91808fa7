import { type Static, Type } from 'typebox';
import { Nullable, Timestamp } from '../../platform/schemas.js';
import { Locale, ShortText, TimeZone } from './users.schemas.js';

/**
 * What a user may change about themselves (docs/api-decisions.md, "Self-service profile"): how
 * they are named and reached, and how dates and language are shown to them. Never what an
 * administrator decides or what identifies the account: email, username, status, OU, groups,
 * roles, custom attributes. A field outside this set is refused (422 naming it), not ignored.
 */
export const UpdateProfileRequest = Type.Object(
  {
    first_name: Type.Optional(ShortText()),
    last_name: Type.Optional(ShortText()),
    display_name: Type.Optional(ShortText()),
    phone: Type.Optional(ShortText(64)),
    locale: Type.Optional(Nullable(Locale, { description: 'null resets to "en"' })),
    timezone: Type.Optional(Nullable(TimeZone, { description: 'null resets to "UTC"' })),
  },
  {
    additionalProperties: false,
    title: 'UpdateProfileRequest',
    examples: [{ display_name: 'Sam S.', locale: 'nl-BE', timezone: 'Europe/Brussels' }],
  },
);
export type UpdateProfileRequest = Static<typeof UpdateProfileRequest>;

export const ChangePasswordRequest = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: 1024 }),
    new_password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false, title: 'ChangePasswordRequest' },
);
export type ChangePasswordRequest = Static<typeof ChangePasswordRequest>;

export const PasswordChanged = Type.Object(
  {
    message: Type.String(),
    password_changed_at: Timestamp,
  },
  { title: 'PasswordChanged' },
);
export type PasswordChanged = Static<typeof PasswordChanged>;

export const EmailVerificationSent = Type.Object(
  {
    message: Type.String(),
    email: Type.String(),
    expires_at: Timestamp,
  },
  { title: 'EmailVerificationSent' },
);
export type EmailVerificationSent = Static<typeof EmailVerificationSent>;

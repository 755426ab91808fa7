import { Type } from 'typebox';
import { Nullable, Timestamp } from '../../platform/schemas.js';
import { WebAuthnCredentialJson } from './webauthn.schemas.js';

const Method = Type.Unsafe<'totp' | 'sms' | 'email' | 'webauthn'>({
  type: 'string',
  enum: ['totp', 'sms', 'email', 'webauthn'],
});

export const MfaFactor = Type.Object(
  {
    id: Type.String({ description: 'mfa_…' }),
    type: Method,
    name: Nullable(Type.String()),
    confirmed: Type.Boolean(),
    created_at: Timestamp,
    last_used_at: Nullable(Timestamp),
  },
  { title: 'MfaFactor' },
);

export const MfaOverview = Type.Object(
  {
    mfa_enabled: Type.Boolean({ description: 'True exactly while a confirmed factor exists' }),
    mfa_required: Type.Boolean({ description: "The tenant's settings.mfa_required" }),
    methods_allowed: Type.Array(Method, { description: "The tenant's settings.mfa_methods" }),
    factors: Type.Array(MfaFactor, { description: 'Confirmed factors, oldest first' }),
    backup_codes_remaining: Type.Integer(),
  },
  { title: 'MfaOverview' },
);

const BackupCodes = Type.Array(Type.String(), {
  description: 'Ten single-use backup codes, shown this once (only their hashes are stored)',
});

export const TotpEnrollRequest = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false, title: 'TotpEnrollRequest' },
);

export const TotpEnrollment = Type.Object(
  {
    factor_id: Type.String(),
    secret: Type.String({ description: 'Base32 seed, for typing into an app that cannot scan' }),
    otpauth_uri: Type.String({ description: 'otpauth://totp/… (SHA1, 6 digits, 30 s)' }),
    qr_svg: Type.String({ description: 'The URI as a QR code, an SVG document' }),
  },
  { title: 'TotpEnrollment' },
);

const Code = Type.String({ minLength: 1, maxLength: 32, description: 'A one-time code' });

export const CodeRequest = Type.Object(
  { code: Code },
  { additionalProperties: false, title: 'MfaCodeRequest' },
);

export const CurrentCodeRequest = Type.Object(
  {
    code: Type.String({
      minLength: 1,
      maxLength: 32,
      description: 'A current code of the user: from the authenticator app, or an unused backup code',
    }),
  },
  { additionalProperties: false, title: 'MfaCurrentCodeRequest' },
);

export const RemoveFactorRequest = Type.Object(
  {
    code: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: 'A current code of the user: from the authenticator app, or an unused backup code',
      }),
    ),
    webauthn: Type.Optional(WebAuthnCredentialJson),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'MfaRemoveFactorRequest',
    description:
      'Presence: a current `code`, or `webauthn`, an assertion (AuthenticationResponseJSON) of one of the user’s passkeys for the challenge of `POST /api/v1/me/mfa/webauthn/reauthenticate/options`',
  },
);

export const FactorConfirmed = Type.Object(
  {
    factor: MfaFactor,
    backup_codes: Nullable(BackupCodes, {
      description: 'With the first factor: ten backup codes shown this once; otherwise null',
    }),
  },
  { title: 'MfaFactorConfirmed' },
);

export const EmailCodeSent = Type.Object(
  {
    sent_to: Type.String({ description: 'The address or number, masked' }),
    expires_in: Type.Integer({ description: 'Seconds the code stays valid' }),
  },
  { title: 'MfaCodeSent' },
);

export const BackupCodesResponse = Type.Object({ backup_codes: BackupCodes }, { title: 'MfaBackupCodes' });

export const SmsEnableRequest = Type.Object(
  {
    phone_number: Type.String({
      pattern: '^\\+[1-9][0-9]{6,14}$',
      description: 'The number in E.164 form, e.g. +31612345678',
    }),
  },
  { additionalProperties: false, title: 'SmsEnableRequest', examples: [{ phone_number: '+31612345678' }] },
);

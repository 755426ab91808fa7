import { Type } from 'typebox';

/** A WebAuthn JSON value as browsers and @simplewebauthn speak it (base64url binary fields). */
const Loose = (title: string, description: string, properties: Parameters<typeof Type.Object>[0]) =>
  Type.Object(properties, { additionalProperties: true, title, description });

export const WebAuthnCreationOptions = Loose(
  'WebAuthnCreationOptions',
  'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create (e.g. through @simplewebauthn/browser startRegistration): a discoverable credential with user verification; the challenge is valid 5 minutes',
  {
    challenge: Type.String({ description: 'base64url' }),
    rp: Type.Object({ id: Type.Optional(Type.String()), name: Type.String() }),
    user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }),
    pubKeyCredParams: Type.Array(Type.Object({ alg: Type.Integer(), type: Type.String() })),
    timeout: Type.Optional(Type.Integer()),
    excludeCredentials: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String(),
          type: Type.String(),
          transports: Type.Optional(Type.Array(Type.String())),
        }),
      ),
    ),
    authenticatorSelection: Type.Optional(
      Type.Object({
        residentKey: Type.Optional(Type.String()),
        requireResidentKey: Type.Optional(Type.Boolean()),
        userVerification: Type.Optional(Type.String()),
        authenticatorAttachment: Type.Optional(Type.String()),
      }),
    ),
    attestation: Type.Optional(Type.String()),
    hints: Type.Optional(Type.Array(Type.String())),
    extensions: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
);

export const WebAuthnRequestOptions = Loose(
  'WebAuthnRequestOptions',
  'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get (e.g. @simplewebauthn/browser startAuthentication); the challenge is valid 5 minutes',
  {
    challenge: Type.String({ description: 'base64url' }),
    rpId: Type.Optional(Type.String()),
    timeout: Type.Optional(Type.Integer()),
    userVerification: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String(),
          type: Type.String(),
          transports: Type.Optional(Type.Array(Type.String())),
        }),
      ),
    ),
    extensions: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
);

/** A credential's JSON (RegistrationResponseJSON / AuthenticationResponseJSON, base64url fields). */
export const WebAuthnCredentialJson = Loose(
  'WebAuthnCredentialJson',
  'The PublicKeyCredential as JSON (its toJSON(), or what @simplewebauthn/browser returns)',
  {
    id: Type.String({ maxLength: 1024 }),
    rawId: Type.String({ maxLength: 1024 }),
    type: Type.String(),
    response: Type.Object(
      { clientDataJSON: Type.String({ maxLength: 8192 }) },
      { additionalProperties: true },
    ),
  },
);

export const WebAuthnRegisterRequest = Type.Object(
  {
    response: WebAuthnCredentialJson,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'The passkey’s name' })),
  },
  { additionalProperties: false, title: 'WebAuthnRegisterRequest' },
);

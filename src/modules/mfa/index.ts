/** The mfa module's face: second factors of a tenant's users (issue 13, docs/account-security.md). */
export { codeHash, maskEmail, newNumericCode } from './codes.js';
export { meMfaRoutes } from './me-mfa.routes.js';
export { meWebAuthnRoutes } from './me-webauthn.routes.js';
export { expiredChallengesTask } from './mfa.cross-tenant.js';
export { type ChallengeRow, createMfaRepository, type FactorRow } from './mfa.repository.js';
export {
  type Account,
  AMR_OF,
  type CodeMethod,
  codeMail,
  createMfaService,
  EMAIL_CODE_TTL_MS,
  type MfaMethod,
  type MfaService,
  phoneOf,
  refuseEarlyResend,
  removeSecondFactors,
  tenantMfaPolicy,
} from './mfa.service.js';
export { WebAuthnCreationOptions, WebAuthnRequestOptions } from './webauthn.schemas.js';
export {
  ENROLL_WEBAUTHN,
  parseWebAuthnResponse,
  passkeyAmr,
  relyingParty,
  signedChallenge,
  WEBAUTHN_TTL_MS,
  type WebAuthn,
} from './webauthn.service.js';

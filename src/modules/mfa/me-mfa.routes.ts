import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/errors.js';
import { noStore, ok, selfServiceOrigin } from '../../platform/http.js';
import { Envelope, ErrorSchema, ValidationErrorSchema } from '../../platform/schemas.js';
import { findLiveTenant } from '../tenants/index.js';
import { findActiveAccount } from '../users/index.js';
import {
  BackupCodesResponse,
  CodeRequest,
  CurrentCodeRequest,
  EmailCodeSent,
  FactorConfirmed,
  MfaOverview,
  RemoveFactorRequest,
  SmsEnableRequest,
  TotpEnrollment,
  TotpEnrollRequest,
} from './mfa.schemas.js';
import type { Account, MfaService } from './mfa.service.js';

const tags = ['MFA'];
const errors = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 422: ValidationErrorSchema };
const conflict = { 409: ErrorSchema };

/** The account of a self-service call: the token's active user in the token's live tenant (else 401). */
export async function selfServiceAccount(db: Db, request: FastifyRequest): Promise<Account> {
  const { tenantId, subject } = request.principal;
  const tenant = await findLiveTenant(db, tenantId as string);
  const user = tenant && (await findActiveAccount(db, tenant.id, subject));
  if (!tenant || !user) throw new AppError('UNAUTHORIZED', 'The account of this token is not active');
  return { tenant, user, origin: selfServiceOrigin(request) };
}
const badCode = { 400: ErrorSchema };

/**
 * The signed-in user's own second factors (`/api/v1/me/mfa…`, docs/account-security.md). Registered
 * in the self-service context, which has checked that the token is the user's own.
 */
export const meMfaRoutes: FastifyPluginAsyncTypebox<{ db: Db; mfa: MfaService }> = async (
  app,
  { db, mfa },
) => {
  const account = (request: FastifyRequest) => selfServiceAccount(db, request);

  app.get(
    '/api/v1/me/mfa',
    {
      schema: {
        tags,
        summary: 'List My MFA Methods',
        description:
          'The confirmed factors, what the tenant allows and requires, and how many backup codes are left.',
        response: { 200: Envelope(MfaOverview), ...errors },
      },
    },
    async (request) => ok(request, await mfa.overview(await account(request))),
  );

  app.post(
    '/api/v1/me/mfa/totp/enroll',
    {
      schema: {
        tags,
        summary: 'Start Authenticator App Enrollment',
        description:
          'A new TOTP seed (RFC 6238: SHA-1, 6 digits, 30 s) as an otpauth:// URI and a QR code (SVG). Nothing is enabled until `/totp/confirm` gets a first valid code; a second call replaces an unconfirmed seed.',
        body: Type.Optional(TotpEnrollRequest),
        response: { 200: Envelope(TotpEnrollment), ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, await mfa.startTotp(await account(request), request.body?.name));
    },
  );

  app.post(
    '/api/v1/me/mfa/totp/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm Authenticator App',
        description:
          'Enables the authenticator app with its first valid code. With the first factor come ten backup codes, shown once.',
        body: CodeRequest,
        response: { 200: Envelope(FactorConfirmed), ...badCode, ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, await mfa.confirmTotp(await account(request), request.body.code));
    },
  );

  app.post(
    '/api/v1/me/mfa/totp/disable',
    {
      schema: {
        tags,
        summary: 'Remove Authenticator App',
        description:
          'Needs a current code. The last factor of a tenant that requires MFA cannot be removed (409).',
        body: CurrentCodeRequest,
        response: { 200: Envelope(MfaOverview), ...badCode, ...conflict, ...errors },
      },
    },
    async (request) =>
      ok(
        request,
        await mfa.removeFactor(await account(request), { method: 'totp' }, { code: request.body.code }),
      ),
  );

  app.post(
    '/api/v1/me/mfa/email/enable',
    {
      schema: {
        tags,
        summary: 'Enable Email Codes',
        description:
          'Mails a six-digit code (valid 10 minutes) to the account’s address; `/email/confirm` enables the method with it.',
        response: { 202: Envelope(EmailCodeSent), ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      reply.code(202);
      return ok(request, await mfa.startEmail(await account(request)));
    },
  );

  app.post(
    '/api/v1/me/mfa/email/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm Email Codes',
        body: CodeRequest,
        response: { 200: Envelope(FactorConfirmed), ...badCode, ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, await mfa.confirmEmail(await account(request), request.body.code));
    },
  );

  app.post(
    '/api/v1/me/mfa/email/disable',
    {
      schema: {
        tags,
        summary: 'Disable Email Codes',
        description: 'Needs a current code (authenticator app or backup code).',
        body: CurrentCodeRequest,
        response: { 200: Envelope(MfaOverview), ...badCode, ...conflict, ...errors },
      },
    },
    async (request) =>
      ok(
        request,
        await mfa.removeFactor(await account(request), { method: 'email' }, { code: request.body.code }),
      ),
  );

  app.post(
    '/api/v1/me/mfa/sms/enable',
    {
      schema: {
        tags,
        summary: 'Enable SMS Codes',
        description:
          'Texts a six-digit code (valid 10 minutes) to the number; `/sms/confirm` enables the method with it. 409 SMS_NOT_CONFIGURED when this server has no SMS sender (`SCAIKEY_SMS_WEBHOOK_URL`).',
        body: SmsEnableRequest,
        response: {
          202: Envelope(EmailCodeSent),
          ...conflict,
          429: ErrorSchema,
          503: ErrorSchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const sent = await mfa.startSms(await account(request), request.body.phone_number);
      reply.code(202);
      return ok(request, sent);
    },
  );

  app.post(
    '/api/v1/me/mfa/sms/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm SMS Codes',
        body: CodeRequest,
        response: { 200: Envelope(FactorConfirmed), ...badCode, ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, await mfa.confirmSms(await account(request), request.body.code));
    },
  );

  app.post(
    '/api/v1/me/mfa/sms/disable',
    {
      schema: {
        tags,
        summary: 'Disable SMS Codes',
        description: 'Needs a current code (authenticator app or backup code).',
        body: CurrentCodeRequest,
        response: { 200: Envelope(MfaOverview), ...badCode, ...conflict, ...errors },
      },
    },
    async (request) =>
      ok(
        request,
        await mfa.removeFactor(await account(request), { method: 'sms' }, { code: request.body.code }),
      ),
  );

  app.post(
    '/api/v1/me/mfa/backup-codes/regenerate',
    {
      schema: {
        tags,
        summary: 'Regenerate Backup Codes',
        description: 'Ten new single-use codes, shown once; the old ones stop working. Needs a current code.',
        body: CurrentCodeRequest,
        response: { 200: Envelope(BackupCodesResponse), ...badCode, ...conflict, ...errors },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return ok(request, await mfa.regenerateBackupCodes(await account(request), request.body.code));
    },
  );

  app.delete(
    '/api/v1/me/mfa/factors/:factor_id',
    {
      schema: {
        tags,
        summary: 'Remove A Factor',
        description:
          'Removes one factor by id (e.g. one of several passkeys). Needs presence in the body: a current `code` (authenticator app or backup code), or `webauthn`, an assertion of any of the user’s passkeys (the one removed too) for the challenge of `POST /api/v1/me/mfa/webauthn/reauthenticate/options` (400 WEBAUTHN_VERIFICATION_FAILED otherwise). The last factor of a tenant that requires MFA stays (409).',
        params: Type.Object({ factor_id: Type.String() }),
        body: RemoveFactorRequest,
        response: { 200: Envelope(MfaOverview), ...badCode, ...conflict, ...errors },
      },
    },
    async (request) =>
      ok(
        request,
        await mfa.removeFactor(await account(request), { id: request.params.factor_id }, request.body),
      ),
  );
};

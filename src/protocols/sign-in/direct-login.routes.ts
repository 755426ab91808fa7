import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { sha256Hex } from '../../lib/secrets.js';
import { createMfaRepository } from '../../modules/mfa/index.js';
import { findLiveTenantBySlug } from '../../modules/tenants/index.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import { noStore, ok } from '../../platform/http.js';
import { Envelope, ErrorSchema, Nullable, ValidationErrorSchema } from '../../platform/schemas.js';
import { type SignInRouteOptions, signInRunner } from './interactions.routes.js';
import { PASSWORD_SIGN_IN, SECOND_FACTOR, type SignInPresenter } from './sign-in-steps.js';

const LoginResponse = Type.Object(
  {
    status: Type.Unsafe<'MFA_REQUIRED' | 'SIGNED_IN'>({
      type: 'string',
      enum: ['MFA_REQUIRED', 'SIGNED_IN'],
      description:
        'MFA_REQUIRED: give a code to …/mfa/verify with `mfa_token`. SIGNED_IN: open `redirect_to`',
    }),
    mfa_token: Nullable(Type.String({ description: 'The challenge (10 minutes); a secret of this sign-in' })),
    methods: Nullable(
      Type.Array(Type.String(), { description: 'What …/mfa/verify accepts: totp, email, sms, backup_code' }),
    ),
    sent_to: Nullable(Type.String({ description: 'Where an emailed code went (masked)' })),
    redirect_to: Nullable(
      Type.String({ description: 'Back into the authorization flow: the browser opens it to get the code' }),
    ),
  },
  { title: 'LoginResponse' },
);
const LoginEnvelope = Envelope(LoginResponse, 'ApiResponse_LoginResponse_');

const LoginRequest = Type.Object(
  {
    email: Type.String({ maxLength: 320 }),
    password: Type.String({ maxLength: 1024 }),
    interaction: Type.String({
      maxLength: 64,
      description:
        'The uid of the sign-in in progress (the hosted page’s …/interaction/{uid}); its cookie must come with the request',
    }),
  },
  { additionalProperties: false, title: 'LoginRequest' },
);
const VerifyRequest = Type.Object(
  {
    mfa_token: Type.String({ maxLength: 128 }),
    code: Type.String({ minLength: 1, maxLength: 32, description: 'TOTP, emailed or backup code' }),
  },
  { additionalProperties: false, title: 'MFAChallengeVerifyRequest' },
);
const SendQuery = Type.Object({
  mfa_token: Type.String({ maxLength: 128 }),
  user_id: Type.Optional(
    Type.String({ maxLength: 64, description: 'Accepted for compatibility; not needed' }),
  ),
});

const errors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  422: ValidationErrorSchema,
  429: ErrorSchema,
};

/**
 * The JSON answers of the sign-in steps (docs/account-security.md, "Direct login"): the same
 * steps and rules as the hosted pages, for a first-party page that signs in with fetch.
 * Setting up a factor and changing a required password are pages: the API says so (403).
 */
const jsonPresenter: SignInPresenter = {
  secondFactor: async (signIn, _status, view) => {
    if (view.error) throw new AppError('INVALID_MFA_CODE', view.error);
    noStore(signIn.reply);
    return ok(signIn.request, {
      status: 'MFA_REQUIRED',
      mfa_token: view.challenge,
      methods: [
        ...(view.totp ? ['totp'] : []),
        ...(view.email ? ['email'] : []),
        ...(view.sms ? ['sms'] : []),
        'backup_code',
      ],
      sent_to: view.sentTo ?? null,
      redirect_to: null,
    });
  },
  enrollment: async () => {
    throw new AppError(
      'MFA_ENROLLMENT_REQUIRED',
      'A second factor must be set up first: sign in on the hosted page once to set one up',
    );
  },
  backupCodes: async () => {
    throw new AppError('MFA_ENROLLMENT_REQUIRED', 'A second factor is set up on the hosted page only');
  },
  passwordChange: async () => {
    throw new AppError(
      'PASSWORD_CHANGE_REQUIRED',
      'The password must be changed first: continue on the hosted sign-in page',
    );
  },
  finished: (signIn, returnTo) =>
    ok(signIn.request, {
      status: 'SIGNED_IN',
      mfa_token: null,
      methods: null,
      sent_to: null,
      redirect_to: returnTo,
    }),
};

/**
 * `POST /api/v1/auth/tenants/{slug}/login`, `…/mfa/verify`, `…/mfa/email/send`: the documented
 * direct-login API of ScaiKey's hosted login, on an interaction of this browser (its cookie is
 * SameSite=Lax and these bodies are JSON, so another site cannot drive it).
 */
export async function directLoginRoutes(app: FastifyInstance, options: SignInRouteOptions): Promise<void> {
  const run = signInRunner(options);
  const refuse = async (_signIn: unknown, { message }: { message: string }) => {
    throw new AppError('INVALID_CREDENTIALS', message);
  };
  const base = '/api/v1/auth/tenants/:tenant_slug';
  const Slug = Type.Object({ tenant_slug: Type.String({ maxLength: 100 }) });
  const tags = ['Authentication'];

  /** The interaction a challenge belongs to (404 for no such challenge in this tenant). */
  async function interactionOf(slug: string, token: string): Promise<string> {
    const tenant = await findLiveTenantBySlug(options.db, slug);
    const challenge =
      tenant &&
      (await createMfaRepository(bindTenant(options.db, tenant.id)).challengeByToken(sha256Hex(token)));
    if (!challenge?.interaction_uid) {
      throw new AppError('BAD_REQUEST', 'This verification has expired. Start again from the application.');
    }
    return challenge.interaction_uid;
  }

  app.post<{
    Params: { tenant_slug: string };
    Body: { email: string; password: string; interaction: string };
  }>(
    `${base}/login`,
    {
      schema: {
        tags,
        summary: 'Direct Login',
        description:
          'Email and password for the sign-in in progress. Answers MFA_REQUIRED with an `mfa_token` when a second factor follows, or SIGNED_IN with the URL that continues the authorization. 401 INVALID_CREDENTIALS counts toward the lockout like the hosted form; 403 when a factor must be set up or the password changed on the hosted page first.',
        params: Slug,
        body: LoginRequest,
        response: { 200: LoginEnvelope, ...errors },
      },
      onRequest: options.rateLimits.onRequest,
      preHandler: options.rateLimits.preHandler,
      onResponse: options.rateLimits.onResponse,
    },
    (request, reply) =>
      run(PASSWORD_SIGN_IN, request, reply, {
        uid: request.body.interaction,
        slug: request.params.tenant_slug,
        form: { email: request.body.email, password: request.body.password },
        present: jsonPresenter,
        refuse,
      }),
  );

  app.post<{ Params: { tenant_slug: string }; Body: { mfa_token: string; code: string } }>(
    `${base}/mfa/verify`,
    {
      schema: {
        tags,
        summary: 'Verify Mfa Challenge',
        description:
          'A code for the `mfa_token` of …/login: from the authenticator app, the emailed code, or a backup code. Wrong codes (400 INVALID_MFA_CODE) count toward the lockout.',
        params: Slug,
        body: VerifyRequest,
        response: { 200: LoginEnvelope, ...errors },
      },
      onRequest: options.rateLimits.onRequest,
    },
    async (request, reply) =>
      run(SECOND_FACTOR, request, reply, {
        uid: await interactionOf(request.params.tenant_slug, request.body.mfa_token),
        slug: request.params.tenant_slug,
        form: { challenge: request.body.mfa_token, op: 'verify', code: request.body.code },
        present: jsonPresenter,
        refuse,
      }),
  );

  for (const [channel, by, users] of [
    ['email', 'Mails', 'email codes'],
    ['sms', 'Texts', 'SMS codes'],
  ] as const) {
    app.post<{ Params: { tenant_slug: string }; Querystring: { mfa_token: string } }>(
      `${base}/mfa/${channel}/send`,
      {
        schema: {
          tags,
          summary: channel === 'email' ? 'Send Mfa Email Code' : 'Send Mfa Sms Code',
          description: `${by} a six-digit code (10 minutes, single use) for the \`mfa_token\` of …/login, when the user has ${users} enabled; the previous code stops working.`,
          params: Slug,
          querystring: SendQuery,
          response: { 200: LoginEnvelope, ...errors },
        },
        onRequest: options.rateLimits.onRequest,
      },
      async (request, reply) =>
        run(SECOND_FACTOR, request, reply, {
          uid: await interactionOf(request.params.tenant_slug, request.query.mfa_token),
          slug: request.params.tenant_slug,
          form: { challenge: request.query.mfa_token, op: `send_${channel}` },
          present: jsonPresenter,
          refuse,
        }),
    );
  }
}

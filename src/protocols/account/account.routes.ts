import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { isStorableText } from '../../lib/text.js';
import { findUsableClient } from '../../modules/applications/index.js';
import {
  type Account,
  type MfaService,
  WebAuthnCreationOptions,
  WebAuthnRequestOptions,
} from '../../modules/mfa/index.js';
import { createSessionsService, type TenantWorkRunner } from '../../modules/sessions/index.js';
import { createProfileService, type OwnAccount, UpdateProfileRequest } from '../../modules/users/index.js';
import type { Db } from '../../platform/db/database.js';
import { AppError, RequestValidationError } from '../../platform/errors.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { noStore, ok } from '../../platform/http.js';
import type { FailureLimit } from '../../platform/rate-limit/limits.js';
import {
  Envelope,
  ErrorSchema,
  HtmlPage,
  pageFormErrors,
  ValidationErrorSchema,
} from '../../platform/schemas.js';
import { compileValidator } from '../../platform/validation.js';
import type { MountedProvider, OidcProviders } from '../oauth/providers.js';
import type { SignInRateLimits } from '../oauth/rate-limits.js';
import { type AccountSection, accountPages, DONE_MESSAGES } from './account-page.js';
import { type AccountVisitor, accountVisitor, discardCode, signInUrl } from './account-session.js';

export interface AccountRouteOptions {
  db: Db;
  providers: OidcProviders;
  work: UnitOfWork;
  mfa: MfaService;
  publicUrl: string;
  /** Verification mails per user: the same limit as `POST /api/v1/me/verify-email`. */
  verificationMails: FailureLimit;
  /** The sign-in's per-IP limit, on the forms that check a password or a code. */
  rateLimits: SignInRateLimits;
}

const SlugParams = Type.Object({ tenant_slug: Type.String() });
type Params = { tenant_slug: string };
type Form = Record<string, unknown>;

const FORM = 'application/x-www-form-urlencoded';
// Pages answer HTML: the contract test checks their statuses only (as the sign-in pages').
const tags = ['Authentication'];
const Csrf = Type.String({ description: 'From the page' });
const NoTenant = HtmlPage('No live tenant has this slug (a page)');
const redirect = (description: string) => ({ description, type: 'null' }) as const;
const ToSignIn = redirect(
  'Not signed in at the tenant (or the session ended): to its sign-in, which comes back to the page',
);
const postResponses = (done: string, extra: Record<number, unknown> = {}) => ({
  303: redirect(`${done}: back to the account page (or, not signed in, to the tenant's sign-in)`),
  400: HtmlPage('A field is missing or wrong, or a code or password is wrong: the page with the message'),
  404: NoTenant,
  ...pageFormErrors,
  ...extra,
});

const PROFILE_FIELDS = ['first_name', 'last_name', 'display_name', 'phone', 'locale', 'timezone'] as const;
const PROFILE_LABELS: Record<string, string> = {
  first_name: 'First name',
  last_name: 'Last name',
  display_name: 'Display name',
  phone: 'Phone',
  locale: 'Language',
  timezone: 'Time zone',
};
const ProfileForm = Type.Object(
  {
    csrf: Csrf,
    ...Object.fromEntries(
      PROFILE_FIELDS.map((field) => [
        field,
        Type.Optional(Type.String({ description: 'Empty: none (or the default)' })),
      ]),
    ),
  },
  { title: 'AccountProfileForm' },
);
const PasswordForm = Type.Object(
  {
    csrf: Csrf,
    current_password: Type.String(),
    new_password: Type.String(),
    confirm_password: Type.String(),
  },
  { title: 'AccountPasswordForm' },
);
const CodeForm = Type.Object(
  { csrf: Csrf, code: Type.String({ description: 'A six-digit code' }) },
  { title: 'AccountCodeForm' },
);
const RemoveFactorForm = Type.Object(
  {
    csrf: Csrf,
    factor_id: Type.String(),
    code: Type.Optional(
      Type.String({ description: 'A current code: from the authenticator app, or a backup code' }),
    ),
    response: Type.Optional(
      Type.String({
        description: 'Instead of a code: a passkey’s assertion as JSON (set by the page’s script)',
      }),
    ),
  },
  { title: 'AccountRemoveFactorForm' },
);
const CurrentCodeForm = Type.Object(
  {
    csrf: Csrf,
    code: Type.String({ description: 'A current code: from the authenticator app, or a backup code' }),
  },
  { title: 'AccountCurrentCodeForm' },
);
const SessionForm = Type.Object({ csrf: Csrf, session_id: Type.String() }, { title: 'AccountSessionForm' });
const AppForm = Type.Object({ csrf: Csrf, client_id: Type.String() }, { title: 'AccountAppForm' });
const CsrfForm = Type.Object({ csrf: Csrf }, { title: 'AccountForm' });
const PhoneForm = Type.Object(
  { csrf: Csrf, phone_number: Type.String({ description: 'E.164, e.g. +31612345678' }) },
  { title: 'AccountPhoneForm' },
);
const SmsCodeForm = Type.Object(
  {
    csrf: Csrf,
    code: Type.String({ description: 'The texted six-digit code' }),
    phone_number: Type.Optional(
      Type.String({ description: 'The number (to send another code from the page)' }),
    ),
  },
  { title: 'AccountSmsCodeForm' },
);
const PasskeyForm = Type.Object(
  {
    csrf: Csrf,
    name: Type.Optional(
      Type.String({ maxLength: 100, description: 'The passkey’s name (default “Passkey”)' }),
    ),
    response: Type.String({ description: 'The new credential as JSON (set by the page’s script)' }),
  },
  { title: 'AccountPasskeyForm' },
);
const PasskeyOptionsRequest = Type.Object(
  {},
  { additionalProperties: false, title: 'AccountPasskeyOptionsRequest' },
);

/** How large a passkey's registration response may be (a few KiB with attestation `none`). */
const PASSKEY_RESPONSE_LIMIT = 32 * 1024;

/** A phone number as E.164 (`+` and 7 to 15 digits; spaces, dashes, dots and brackets dropped), or null. */
function phoneNumberOf(form: Form): string | null {
  const typed = text(form, 'phone_number', 64)?.replace(/[\s().-]/g, '');
  return typed && /^\+[1-9][0-9]{6,14}$/.test(typed) ? typed : null;
}

const validProfile = compileValidator(UpdateProfileRequest, 'body');

/** A text field of the form; anything else (absent, not text, too long, not storable) is undefined or refused. */
function text(form: Form, name: string, max = 1024): string | undefined {
  const value = form[name];
  if (typeof value !== 'string') return undefined;
  if (value.length > max || !isStorableText(value)) {
    throw new AppError('BAD_REQUEST', 'A field is too long or holds characters that cannot be stored.');
  }
  return value;
}

/** The refusals of a service shown on the page: its status and message (never a 500). */
type Refusal = { status: number; message: string; headers: Record<string, string> };

function refusalOf(error: unknown): Refusal | null {
  if (error instanceof AppError)
    return { status: error.status, message: error.detail, headers: error.headers };
  if (error instanceof RequestValidationError) {
    const message = error.issues
      .map((issue) => `${PROFILE_LABELS[String(issue.loc.at(-1))] ?? String(issue.loc.at(-1))}: ${issue.msg}`)
      .join(' ');
    return { status: 422, message, headers: {} };
  }
  return null;
}

/**
 * The hosted account page of a tenant (`/api/v1/auth/tenants/{slug}/account`; docs/api-decisions.md,
 * "Account page"): a person signed in at the tenant changes their profile and password, confirms
 * their address, manages second factors, ends sessions and withdraws applications, through the
 * same services as the self-service API (each change audited, actor the user). The page reads the
 * tenant provider's own session (account-session.ts); without one it sends the browser through
 * the tenant's hosted sign-in and back. Registered in the hosted pages' context: views, forms,
 * CSRF on every POST, the error page.
 */
export async function accountRoutes(app: FastifyInstance, options: AccountRouteOptions): Promise<void> {
  const { db, providers, work, mfa } = options;
  const profile = createProfileService({
    db,
    work,
    publicUrl: options.publicUrl,
    verificationMails: options.verificationMails,
  });
  const sessions = createSessionsService({
    db,
    applicationName: async (clientId) => (await findUsableClient(db, clientId))?.name ?? null,
  });
  const pages = accountPages({ db, mfa, sessions });
  const base = '/api/v1/auth/tenants/:tenant_slug/account';
  const config = { pageTitle: 'Your account' };

  async function mountedOf(request: FastifyRequest<{ Params: Params }>): Promise<MountedProvider> {
    const mounted = await providers.forSlug(request.params.tenant_slug);
    if (!mounted?.tenant) throw new AppError('NOT_FOUND', 'Tenant not found');
    return mounted;
  }

  interface Visit {
    visitor: AccountVisitor;
    mounted: MountedProvider;
    form: Form;
    request: FastifyRequest;
    reply: FastifyReply;
  }

  /**
   * A route of the page: the visitor signed in at the tenant, else the way through its sign-in.
   * Form posts only, except the passkey script's JSON call (`json`), which answers 401 instead.
   */
  const signedIn =
    (handler: (visit: Visit) => Promise<unknown>, { json = false } = {}) =>
    async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const type = String(request.headers['content-type'] ?? '');
      if (request.method === 'POST' && !(json ? type.includes('json') : type.startsWith(FORM))) {
        // JSON skips the hosted pages' CSRF check: the page's forms are its only callers (and the
        // JSON route writes nothing a foreign page could use).
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The account page takes its own forms only.');
      }
      const mounted = await mountedOf(request);
      const visitor = await accountVisitor(db, mounted, request);
      if (!visitor && json) throw new AppError('UNAUTHORIZED', 'Sign in at the account page first.');
      if (!visitor) return reply.redirect(signInUrl(mounted), 303);
      return handler({ visitor, mounted, form: (request.body as Form | undefined) ?? {}, request, reply });
    };

  const done = (visit: Visit, key: keyof typeof DONE_MESSAGES) =>
    visit.reply.redirect(`${visit.visitor.mountPath}/account?done=${key}`, 303);

  /** The page again with a refusal next to the section's form; anything else goes on as an error. */
  async function refused(
    visit: Visit,
    section: AccountSection,
    error: unknown,
    profileValues?: Record<string, string | null>,
  ) {
    const refusal = refusalOf(error);
    if (!refusal) throw error;
    visit.reply.headers(refusal.headers);
    return pages.main(visit.reply, visit.visitor, refusal.status, {
      error: { section, message: refusal.message },
      ...(profileValues ? { profile: profileValues } : {}),
    });
  }

  const ownAccount = ({ visitor }: Visit): OwnAccount => ({
    tenant: visitor.tenant,
    userId: visitor.user.id,
    grantId: visitor.grantId,
    origin: visitor.origin,
  });
  const mfaAccount = ({ visitor }: Visit): Account => ({
    tenant: visitor.tenant,
    user: visitor.user,
    origin: visitor.origin,
  });
  const place = ({ visitor }: Visit) => ({
    tenantId: visitor.tenant.id,
    partnerId: visitor.tenant.partner_id,
  });
  const runner =
    ({ visitor }: Visit): TenantWorkRunner =>
    (body) =>
      work.inTenant(visitor.tenant.id, visitor.origin, body);

  /** Ends the browser's session at the tenant (its cookie is forgotten too) and says so. */
  async function signOut(visit: Visit, sessionId: string | null) {
    const { visitor, mounted, reply } = visit;
    if (sessionId) await sessions.revokeMine(runner(visit), place(visit), visitor.user.id, sessionId);
    else await visitor.session.destroy();
    const name = mounted.provider.cookieName('session');
    for (const cookie of [name, `${name}.sig`]) reply.clearCookie(cookie, { path: `${mounted.mountPath}/` });
    return pages.signedOut(reply, visitor);
  }

  const currentSessionId = async (visitor: AccountVisitor) =>
    (await pages.sessionsOf(visitor)).find((session) => session.current)?.id ?? null;

  // ——— the page ———

  app.get<{ Params: Params }>(
    base,
    {
      config,
      schema: {
        tags,
        summary: 'Account page',
        description:
          'The signed-in person’s account at the tenant (docs/api-decisions.md, “Account page”): profile, password, email verification, two-step verification, sessions and authorized apps. Without a session at the tenant, a redirect through its hosted sign-in, which comes back here.',
        params: SlugParams,
        documentedQuery: Type.Object({
          done: Type.Optional(
            Type.String({ description: 'Which action just finished (a message on the page)' }),
          ),
        }),
        response: { 200: HtmlPage('The account page'), 303: ToSignIn, 404: NoTenant },
      },
    },
    signedIn(async (visit) => {
      const key = (visit.request.query as Record<string, unknown>).done;
      const notice =
        typeof key === 'string' && Object.hasOwn(DONE_MESSAGES, key) ? DONE_MESSAGES[key] : undefined;
      return pages.main(visit.reply, visit.visitor, 200, { notice });
    }),
  );

  app.get<{ Params: Params }>(
    `${base}/callback`,
    {
      config,
      schema: {
        tags,
        summary: 'Account page sign-in callback',
        description:
          'Where the tenant’s authorization endpoint sends the browser after signing in for the account page. The code is destroyed unredeemed (the page reads the session itself); then back to the page.',
        params: SlugParams,
        documentedQuery: Type.Object({
          code: Type.Optional(Type.String()),
          error: Type.Optional(Type.String()),
          iss: Type.Optional(Type.String()),
        }),
        response: {
          303: redirect('To the account page'),
          400: HtmlPage('The sign-in did not complete (a page)'),
          404: NoTenant,
        },
      },
    },
    async (request, reply) => {
      const mounted = await mountedOf(request);
      const query = request.query as Record<string, unknown>;
      if (typeof query.code === 'string' && query.code.length <= 512) await discardCode(mounted, query.code);
      if (typeof query.error === 'string') {
        // The error code only: a description from the query string would let any link put its
        // own words on this page.
        const code = /^[a-z_]{1,64}$/.test(query.error) ? query.error : 'error';
        throw new AppError(
          'BAD_REQUEST',
          `The sign-in did not complete (${code}). Open your account page to try again.`,
        );
      }
      return reply.redirect(`${mounted.mountPath}/account`, 303);
    },
  );

  const limited = {
    // Per IP, as the sign-in: these forms check a password or a one-time code.
    onRequest: options.rateLimits.onRequest,
  };
  const limitedResponse = {
    429: HtmlPage('Too many attempts; retry after the seconds in Retry-After (a page)'),
  };

  /** A form of the page: its route, documentation and the section that shows its refusals. */
  interface FormRoute {
    summary: string;
    description: string;
    body: TSchema;
    /** The page's answer when it worked (the 303's description). */
    done: string;
    /** Answers besides the common ones. */
    extra?: Record<number, unknown>;
    /** Checks a password or a code: the sign-in's per-IP limit (and its 429). */
    limited?: boolean;
    /** Where a service's refusal shows (the page again, status and message); none: the error page. */
    section?: AccountSection;
    /** Instead of the common answers. */
    responses?: Record<number, unknown>;
  }

  function formPost(path: string, route: FormRoute, handler: (visit: Visit) => Promise<unknown>) {
    app.post<{ Params: Params }>(
      `${base}${path}`,
      {
        config,
        ...(route.limited ? limited : {}),
        schema: {
          tags,
          summary: `Account page: ${route.summary}`,
          description: route.description,
          params: SlugParams,
          consumes: [FORM],
          documentedBody: route.body,
          response:
            route.responses ??
            postResponses(route.done, { ...route.extra, ...(route.limited ? limitedResponse : {}) }),
        },
      },
      signedIn(async (visit) => {
        const { section } = route;
        if (!section) return handler(visit);
        try {
          return await handler(visit);
        } catch (error) {
          return refused(visit, section, error);
        }
      }),
    );
  }

  /** New backup codes shown once, or back to the page saying what was turned on. */
  const confirmed = (
    visit: Visit,
    backupCodes: string[] | null,
    key: keyof typeof DONE_MESSAGES,
    on: string,
  ) =>
    backupCodes
      ? pages.backupCodes(
          visit.reply,
          visit.visitor,
          backupCodes,
          `${on} Keep these backup codes somewhere safe: each works once, when you cannot use your device. They are shown only now.`,
        )
      : done(visit, key);

  const codeOf = (visit: Visit) => (text(visit.form, 'code', 32) ?? '').trim();

  // ——— profile, address, password ———

  formPost(
    '/profile',
    {
      summary: 'save the profile',
      description:
        'Names, phone, language and time zone, as `PATCH /api/v1/me`: a field left out stays, an empty one is cleared (language and time zone: back to the defaults). Audited `user.updated`.',
      body: ProfileForm,
      done: 'Saved',
      extra: { 422: HtmlPage('A field is not valid: the page with the message') },
    },
    async (visit) => {
      const input: Record<string, string | null> = {};
      for (const field of PROFILE_FIELDS) {
        const value = text(visit.form, field, 300)?.trim();
        if (value !== undefined) input[field] = value === '' ? null : value;
      }
      try {
        if (!validProfile(input)) {
          const message = (validProfile.errors ?? [])
            .map((error) => {
              const field = error.instancePath.slice(1);
              const why = error.keyword === 'maxLength' ? error.message : 'is not valid';
              return `${PROFILE_LABELS[field] ?? field}: ${why}.`;
            })
            .join(' ');
          throw new AppError('BAD_REQUEST', message || 'A field is not valid.');
        }
        await profile.updateProfile(ownAccount(visit), input);
      } catch (error) {
        return refused(visit, 'profile', error, input);
      }
      return done(visit, 'profile');
    },
  );

  formPost(
    '/verify-email',
    {
      summary: 'send a confirmation link',
      description:
        'As `POST /api/v1/me/verify-email`: a link confirming the address (24 hours, single use). Audited `user.email_verification_requested`.',
      body: CsrfForm,
      done: 'Sent',
      section: 'email',
      extra: {
        409: HtmlPage('The address is already verified (a page)'),
        429: HtmlPage('Too many mails; retry after the seconds in Retry-After (a page)'),
      },
    },
    async (visit) => {
      await profile.requestEmailVerification(ownAccount(visit));
      return done(visit, 'verify-email');
    },
  );

  formPost(
    '/password',
    {
      summary: 'change the password',
      description:
        'As `POST /api/v1/me/password`: the current password, the new one twice; the tenant’s policy and history apply, a wrong current password counts toward the lockout, and every other sign-in of the account ends (this browser stays signed in). Audited `user.password_changed`.',
      body: PasswordForm,
      done: 'Changed',
      section: 'password',
      limited: true,
      extra: { 409: HtmlPage('The password changed meanwhile (a page)') },
    },
    async (visit) => {
      const current = text(visit.form, 'current_password') ?? '';
      const next = text(visit.form, 'new_password') ?? '';
      if (!current || !next) throw new AppError('BAD_REQUEST', 'Enter your current password and a new one.');
      if (next !== text(visit.form, 'confirm_password')) {
        throw new AppError('BAD_REQUEST', 'The two new passwords differ.');
      }
      await profile.changePassword(ownAccount(visit), { current_password: current, new_password: next });
      return done(visit, 'password');
    },
  );

  // ——— two-step verification ———

  formPost(
    '/mfa/totp',
    {
      summary: 'add an authenticator app',
      description:
        'The enrollment page: a QR code (SVG) and the key of a new TOTP seed (or of the enrollment in progress). Nothing is on until a first code confirms it.',
      body: CsrfForm,
      done: 'Never',
      section: 'mfa',
      extra: {
        200: HtmlPage('The enrollment page'),
        409: HtmlPage('An authenticator app is already enrolled, or the tenant does not allow it (a page)'),
      },
    },
    async (visit) => pages.totp(visit.reply, visit.visitor, 200, await mfa.totpEnrollment(mfaAccount(visit))),
  );

  formPost(
    '/mfa/totp/confirm',
    {
      summary: 'confirm the authenticator app',
      description:
        'A first valid code turns the app on (audited `user.mfa_factor_added`); the first factor brings ten backup codes, shown once. A wrong code: the enrollment page again.',
      body: CodeForm,
      done: 'On',
      section: 'mfa',
      limited: true,
      extra: {
        200: HtmlPage('The backup codes, shown once'),
        409: HtmlPage('No enrollment is in progress (a page)'),
      },
    },
    async (visit) => {
      const account = mfaAccount(visit);
      let result: Awaited<ReturnType<MfaService['confirmTotp']>>;
      try {
        result = await mfa.confirmTotp(account, codeOf(visit));
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal?.status !== 400) throw error;
        const enrollment = await mfa.totpEnrollment(account);
        return pages.totp(visit.reply, visit.visitor, 400, enrollment, refusal.message);
      }
      return confirmed(visit, result.backup_codes, 'totp', 'The authenticator app is on.');
    },
  );

  formPost(
    '/mfa/email',
    {
      summary: 'turn on email codes',
      description: 'Mails a six-digit code (10 minutes) to the account’s address; the page asks for it.',
      body: CsrfForm,
      done: 'Never',
      section: 'mfa',
      extra: {
        200: HtmlPage('The code form'),
        409: HtmlPage('Email codes are already on, or the tenant does not allow them (a page)'),
      },
    },
    async (visit) => {
      const sent = await mfa.startEmail(mfaAccount(visit));
      return pages.emailCode(visit.reply, visit.visitor, 200, sent.sent_to);
    },
  );

  formPost(
    '/mfa/email/confirm',
    {
      summary: 'confirm email codes',
      description:
        'The emailed code turns email codes on (audited `user.mfa_factor_added`); the first factor brings ten backup codes, shown once.',
      body: CodeForm,
      done: 'On',
      section: 'mfa',
      limited: true,
      extra: {
        200: HtmlPage('The backup codes, shown once'),
        409: HtmlPage('No enrollment is in progress (a page)'),
      },
    },
    async (visit) => {
      let result: Awaited<ReturnType<MfaService['confirmEmail']>>;
      try {
        result = await mfa.confirmEmail(mfaAccount(visit), codeOf(visit));
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal?.status !== 400) throw error;
        return pages.emailCode(visit.reply, visit.visitor, 400, undefined, refusal.message);
      }
      return confirmed(visit, result.backup_codes, 'email-codes', 'Email codes are on.');
    },
  );

  formPost(
    '/mfa/sms',
    {
      summary: 'turn on text-message codes',
      description:
        'As `POST /api/v1/me/mfa/sms/enable`: texts a six-digit code (10 minutes) to the number (E.164, e.g. +31612345678; spaces, dashes and brackets are ignored); the page asks for it. Offered only where the tenant allows `sms` and an SMS sender is configured (409 `SMS_NOT_CONFIGURED` otherwise).',
      body: PhoneForm,
      done: 'Never',
      section: 'mfa',
      extra: {
        200: HtmlPage('The code form'),
        409: HtmlPage(
          'SMS codes are already on, the tenant does not allow them, or no SMS sender is configured (a page)',
        ),
        429: HtmlPage('A code was just sent; retry after the seconds in Retry-After (a page)'),
        503: HtmlPage('The text message could not be sent (a page)'),
      },
    },
    async (visit) => {
      const phone = phoneNumberOf(visit.form);
      if (!phone) {
        throw new AppError(
          'BAD_REQUEST',
          'Enter your mobile number in international format, with + and the country code (e.g. +31612345678).',
        );
      }
      const sent = await mfa.startSms(mfaAccount(visit), phone);
      return pages.smsCode(visit.reply, visit.visitor, 200, { phone, sentTo: sent.sent_to });
    },
  );

  formPost(
    '/mfa/sms/confirm',
    {
      summary: 'confirm text-message codes',
      description:
        'The texted code turns SMS codes on (audited `user.mfa_factor_added`); the first factor brings ten backup codes, shown once. A wrong code: the code form again.',
      body: SmsCodeForm,
      done: 'On',
      section: 'mfa',
      limited: true,
      extra: {
        200: HtmlPage('The backup codes, shown once'),
        409: HtmlPage('No enrollment is in progress (a page)'),
      },
    },
    async (visit) => {
      let result: Awaited<ReturnType<MfaService['confirmSms']>>;
      try {
        result = await mfa.confirmSms(mfaAccount(visit), codeOf(visit));
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal?.status !== 400) throw error;
        const phone = phoneNumberOf(visit.form) ?? undefined;
        return pages.smsCode(visit.reply, visit.visitor, 400, { phone, error: refusal.message });
      }
      return confirmed(visit, result.backup_codes, 'sms-codes', 'Text-message codes are on.');
    },
  );

  /** A JSON route of the page's passkey script: the options of a ceremony (docs/api-decisions.md). */
  function passkeyOptions(
    path: string,
    summary: string,
    description: string,
    options: TSchema,
    get: (account: Account) => Promise<object>,
  ) {
    app.post<{ Params: Params }>(
      `${base}${path}`,
      {
        config,
        ...limited,
        schema: {
          tags,
          summary: `Account page: ${summary}`,
          description: `For the page’s script (JSON, the tenant session’s cookie; a JSON body cannot come from a foreign page without a CORS preflight, which this route never allows): ${description} 401 without a session at the tenant.`,
          params: SlugParams,
          body: PasskeyOptionsRequest,
          response: {
            200: Envelope(options),
            401: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            422: ValidationErrorSchema,
            429: ErrorSchema,
            ...pageFormErrors,
          },
        },
      },
      signedIn(
        async (visit) => {
          noStore(visit.reply);
          return ok(visit.request, { ...(await get(mfaAccount(visit))) });
        },
        { json: true },
      ),
    );
  }

  passkeyOptions(
    '/mfa/passkey/options',
    'options of a new passkey',
    'creation options as `POST /api/v1/me/mfa/webauthn/register/options` gives them (a discoverable credential with user verification; the challenge is valid 5 minutes, a new call replaces it); 409 `MFA_METHOD_NOT_ALLOWED` / `WEBAUTHN_UNAVAILABLE`.',
    WebAuthnCreationOptions,
    (account) => mfa.webauthn.registrationOptions(account),
  );

  passkeyOptions(
    '/mfa/passkey/reauthenticate-options',
    'options of a passkey confirming a removal',
    'request options with the user’s passkeys, as `POST /api/v1/me/mfa/webauthn/reauthenticate/options` gives them; the assertion is posted as `response` in the removal form instead of a code. 409 `MFA_NOT_ENROLLED` without a passkey.',
    WebAuthnRequestOptions,
    (account) => mfa.webauthn.presenceOptions(account),
  );

  formPost(
    '/mfa/passkey',
    {
      summary: 'add a passkey',
      description:
        'The page’s script has run navigator.credentials.create with the options of `…/account/mfa/passkey/options` and posts the credential (`response`, JSON) with the passkey’s name, as `POST /api/v1/me/mfa/webauthn/register/verify`: checked against the open challenge, the origin and the RP ID, user verification required. The first factor brings ten backup codes, shown once. Audited `user.mfa_factor_added`.',
      body: PasskeyForm,
      done: 'Added',
      section: 'mfa',
      limited: true,
      extra: {
        200: HtmlPage('The backup codes, shown once'),
        409: HtmlPage(
          'The tenant does not allow passkeys, passkeys are unavailable here, or it is registered already (a page)',
        ),
      },
    },
    async (visit) => {
      const response = text(visit.form, 'response', PASSKEY_RESPONSE_LIMIT);
      if (!response) throw new AppError('BAD_REQUEST', 'Your browser sent no passkey. Try again.');
      const name = text(visit.form, 'name', 100)?.trim() || undefined;
      const result = await mfa.webauthn.register(mfaAccount(visit), response, name);
      return confirmed(visit, result.backup_codes, 'passkey', 'The passkey is added.');
    },
  );

  formPost(
    '/mfa/remove',
    {
      summary: 'remove a factor',
      description:
        'Needs a current code (authenticator app or backup code), or, posted by the page’s script, `response`: an assertion of one of the user’s passkeys (the one removed too) for the challenge of `…/account/mfa/passkey/reauthenticate-options`. The last factor of a tenant that requires MFA stays (409). Audited `user.mfa_factor_removed`.',
      body: RemoveFactorForm,
      done: 'Removed',
      section: 'mfa',
      limited: true,
      extra: { 409: HtmlPage('The tenant requires a second factor (a page)') },
    },
    async (visit) => {
      const factorId = text(visit.form, 'factor_id', 64) ?? '';
      const passkey = text(visit.form, 'response', PASSKEY_RESPONSE_LIMIT);
      const code = text(visit.form, 'code', 32)?.trim();
      const proof = passkey ? { webauthn: passkey } : { code: code || undefined };
      await mfa.removeFactor(mfaAccount(visit), { id: factorId }, proof);
      return done(visit, 'factor-removed');
    },
  );

  formPost(
    '/mfa/backup-codes',
    {
      summary: 'new backup codes',
      description:
        'Ten new single-use codes, shown once; the old ones stop working. Needs a current code. Audited `user.mfa_backup_codes_regenerated`.',
      body: CurrentCodeForm,
      done: 'Never',
      section: 'mfa',
      limited: true,
      extra: {
        200: HtmlPage('The new backup codes, shown once'),
        409: HtmlPage('No second factor yet (a page)'),
      },
    },
    async (visit) => {
      const code = text(visit.form, 'code', 32)?.trim();
      const { backup_codes } = await mfa.regenerateBackupCodes(mfaAccount(visit), code || undefined);
      return pages.backupCodes(
        visit.reply,
        visit.visitor,
        backup_codes,
        'Your old backup codes no longer work. Keep these somewhere safe: each works once. They are shown only now.',
      );
    },
  );

  // ——— sessions, applications, sign-out ———

  formPost(
    '/sessions/end',
    {
      summary: 'end a session',
      description:
        'As `DELETE /api/v1/me/sessions/{id}`: the browser, the applications signed in through it, their refresh and access tokens end at once. Another user’s or tenant’s session is a 404. Ending this browser’s own session signs it out. Audited `session.revoked`.',
      body: SessionForm,
      done: 'Ended',
      section: 'sessions',
      extra: { 200: HtmlPage('This browser’s own session ended: signed out') },
    },
    async (visit) => {
      const sessionId = text(visit.form, 'session_id', 64) ?? '';
      if (sessionId && sessionId === (await currentSessionId(visit.visitor)))
        return signOut(visit, sessionId);
      await sessions.revokeMine(runner(visit), place(visit), visit.visitor.user.id, sessionId);
      return done(visit, 'session-ended');
    },
  );

  formPost(
    '/apps/revoke',
    {
      summary: 'withdraw an application',
      description:
        'As `DELETE /api/v1/me/authorized-apps/{client_id}`: every grant of the user with the application ends, with its refresh and access tokens. Audited `authorized_app.revoked`.',
      body: AppForm,
      done: 'Withdrawn',
      section: 'apps',
    },
    async (visit) => {
      const clientId = text(visit.form, 'client_id', 128) ?? '';
      await sessions.revokeAuthorizedApp(runner(visit), place(visit), visit.visitor.user.id, clientId);
      return done(visit, 'app-revoked');
    },
  );

  formPost(
    '/sign-out',
    {
      summary: 'sign out',
      description:
        'Ends this browser’s session at the tenant (and the applications signed in through it), as ending it from the sessions list does. Audited `session.revoked`.',
      body: CsrfForm,
      done: 'Signed out',
      responses: { 200: HtmlPage('Signed out'), 303: ToSignIn, 404: NoTenant, ...pageFormErrors },
    },
    async (visit) => signOut(visit, await currentSessionId(visit.visitor)),
  );
}

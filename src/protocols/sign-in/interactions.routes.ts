import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { MfaService } from '../../modules/mfa/index.js';
import type { Db } from '../../platform/db/database.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { HtmlPage, pageFormErrors } from '../../platform/schemas.js';
import type { Federation } from '../federation/federation.js';
import type { OidcProviders } from '../oauth/providers.js';
import type { SignInRateLimits } from '../oauth/rate-limits.js';
import { runSteps } from '../steps.js';
import { federatedReturn, startFederation } from './federation-steps.js';
import { hostedPresenter } from './hosted-presenter.js';
import { passkeyRoutes } from './passkey.routes.js';
import {
  loadInteraction,
  PASSWORD_SIGN_IN,
  proofSigner,
  REQUIRED_PASSWORD_CHANGE,
  SECOND_FACTOR,
  SIGN_IN_PAGE,
  type SignIn,
  type SignInPresenter,
  type SignInStep,
  signInForm,
} from './sign-in-steps.js';

const SlugUid = Type.Object({ tenant_slug: Type.String(), uid: Type.String({ maxLength: 64 }) });
type Params = { tenant_slug: string; uid: string };

// What the document shows of the pages (their forms are read by the steps, which answer a wrong
// field on the page itself: the bodies are documented, not validated by the schema).
const Redirect = { description: 'Back into the authorization flow (Location)', type: 'null' } as const;
const NotValidHere = HtmlPage('The sign-in attempt expired or belongs to another browser (a page)');
const NoTenant = HtmlPage('No live tenant has this slug (a page)');
const LoginForm = Type.Object(
  { email: Type.String(), password: Type.String(), csrf: Type.String({ description: 'From the page' }) },
  { title: 'SignInForm' },
);
const PasswordChangeForm = Type.Object(
  {
    csrf: Type.String({ description: 'From the page' }),
    user: Type.String({ description: 'From the page' }),
    expires: Type.String({ description: 'From the page' }),
    proof: Type.String({ description: 'From the page' }),
    new_password: Type.String(),
    confirm_password: Type.String(),
  },
  { title: 'RequiredPasswordChangeForm' },
);
const SecondFactorForm = Type.Object(
  {
    csrf: Type.String({ description: 'From the page' }),
    challenge: Type.String({ description: 'From the page' }),
    op: Type.Unsafe({
      type: 'string',
      enum: [
        'verify',
        'webauthn',
        'send_email',
        'send_sms',
        'enroll_totp',
        'enroll_webauthn',
        'enroll_email',
        'enroll_email_confirm',
        'continue',
      ],
      description: 'What the form asks, as the page sets it',
    }),
    code: Type.Optional(Type.String({ description: 'A one-time code (TOTP, emailed or backup code)' })),
    response: Type.Optional(
      Type.String({
        description:
          'op=webauthn, enroll_webauthn: the WebAuthn credential as JSON (set by the page’s script)',
      }),
    ),
  },
  { title: 'SecondFactorForm' },
);
const FORM = 'application/x-www-form-urlencoded';

/** What the sign-in routes (hosted pages, direct-login API) are built from. */
export interface SignInRouteOptions {
  db: Db;
  providers: OidcProviders;
  secret: string;
  rateLimits: SignInRateLimits;
  mfa: MfaService;
  work: UnitOfWork;
  federation: Federation;
}

/** How a route presents its sign-in: the interaction, its form, its answers. */
export interface SignInHow {
  uid: string;
  slug: string;
  form: Record<string, string>;
  present: SignInPresenter;
  refuse: (signIn: SignIn, refusal: { message: string }) => Promise<unknown>;
}

/** Loads the sign-in context (the interaction of this browser, its tenant) for `how`. */
export function signInLoader(options: SignInRouteOptions) {
  const { db, providers, mfa, work } = options;
  const sign = proofSigner(options.secret);
  return async (request: FastifyRequest, reply: FastifyReply, how: SignInHow): Promise<SignIn> => {
    const signIn: SignIn = await loadInteraction(
      {
        request,
        reply,
        db,
        uid: how.uid,
        sign,
        mfa,
        work,
        federation: options.federation,
        present: how.present,
        form: how.form,
        origin: { actorType: 'user', actorId: null, ipAddress: request.ip, requestId: request.id },
        refuse: (refusal) => how.refuse(signIn, refusal),
      },
      (slug) => providers.forSlug(slug),
      how.slug,
    );
    return signIn;
  };
}

/** Runs a step list on the interaction `how.uid` of this browser (its cookie), answering as `how` says. */
export function signInRunner(options: SignInRouteOptions) {
  const load = signInLoader(options);
  return async (steps: readonly SignInStep[], request: FastifyRequest, reply: FastifyReply, how: SignInHow) =>
    runSteps(steps, await load(request, reply, how));
}

/**
 * The hosted sign-in pages of a tenant (oidc-provider interactions). Each route runs an ordered
 * list of one-concern steps (sign-in-steps.ts, docs/adr/0011-sign-in-step-pipeline.md) on the
 * interaction it loaded first. Registered in the hosted pages' context (hosted-pages.ts): forms,
 * CSRF on every POST, the error page; the interaction cookie is SameSite=Lax.
 */
export async function interactionRoutes(app: FastifyInstance, options: SignInRouteOptions): Promise<void> {
  const loader = signInLoader(options);
  const load = (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
    loader(request, reply, {
      uid: request.params.uid,
      slug: request.params.tenant_slug,
      form: (request.body as Record<string, string> | undefined) ?? {},
      present: hostedPresenter,
      // A refused password: the form again, with the message (401 counts as a failure).
      refuse: (signIn, { message }) => signInForm(signIn, 401, signIn.email, message),
    });
  const run = async (
    steps: readonly SignInStep[],
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
  ) => runSteps(steps, await load(request, reply));

  const base = '/api/v1/auth/tenants/:tenant_slug/interaction/:uid';

  app.get<{ Params: Params }>(
    base,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Sign-in page',
        params: SlugUid,
        response: { 200: HtmlPage('The sign-in form'), 303: Redirect, 400: NotValidHere, 404: NoTenant },
      },
    },
    (request, reply) => run(SIGN_IN_PAGE, request, reply),
  );

  app.post<{ Params: Params; Body: Record<string, string> }>(
    `${base}/login`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Sign in with email and password',
        params: SlugUid,
        consumes: [FORM],
        documentedBody: LoginForm,
        response: {
          200: HtmlPage('The password must be changed first: the change form'),
          303: Redirect,
          400: NotValidHere,
          401: HtmlPage('Wrong email or password: the form again, with the message'),
          403: HtmlPage('The form expired (CSRF token): a page'),
          404: NoTenant,
          ...pageFormErrors,
          429: HtmlPage('Too many sign-in attempts; retry after the seconds in Retry-After (a page)'),
        },
      },
      onRequest: options.rateLimits.onRequest,
      preHandler: options.rateLimits.preHandler,
      onResponse: options.rateLimits.onResponse,
    },
    (request, reply) => run(PASSWORD_SIGN_IN, request, reply),
  );

  app.post<{ Params: Params; Body: Record<string, string> }>(
    `${base}/password`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Change a required password during sign-in',
        params: SlugUid,
        consumes: [FORM],
        documentedBody: PasswordChangeForm,
        response: {
          303: Redirect,
          400: HtmlPage(
            'The form expired, the passwords differ or break the policy: the form again (a page)',
          ),
          404: NoTenant,
          ...pageFormErrors,
        },
      },
    },
    (request, reply) => run(REQUIRED_PASSWORD_CHANGE, request, reply),
  );

  app.post<{ Params: Params; Body: Record<string, string> }>(
    `${base}/mfa`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Give or set up the second factor of a sign-in',
        description:
          'The two-step verification pages (docs/account-security.md): a code from the authenticator app, an emailed code or a backup code; or, when the tenant requires MFA and the user has none, the set-up of one. Wrong codes count toward the lockout.',
        params: SlugUid,
        consumes: [FORM],
        documentedBody: SecondFactorForm,
        response: {
          200: HtmlPage(
            'The next page: the code form again (an email was sent), backup codes, or enrollment',
          ),
          303: Redirect,
          400: HtmlPage(
            'The verification expired, the account is locked, or a set-up code is wrong (a page)',
          ),
          401: HtmlPage('Wrong code: the form again, with the message'),
          403: HtmlPage('The form expired (CSRF token): a page'),
          404: NoTenant,
          ...pageFormErrors,
          429: HtmlPage('Too many sign-in attempts; retry after the seconds in Retry-After (a page)'),
        },
      },
      // Per IP; wrong codes count toward the account's lockout (mfa-steps.ts).
      onRequest: options.rateLimits.onRequest,
    },
    (request, reply) => run(SECOND_FACTOR, request, reply),
  );

  // Federation (docs/federation.md): the SSO buttons and the return from the upstream provider.
  // Both are GETs below the interaction's path, where its cookie is sent.
  const withForm = (
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    form: Record<string, string>,
    steps: readonly SignInStep[],
  ) =>
    loader(request, reply, {
      uid: request.params.uid,
      slug: request.params.tenant_slug,
      form,
      present: hostedPresenter,
      refuse: (signIn, { message }) => signInForm(signIn, 401, signIn.email, message),
    }).then((signIn) => runSteps(steps, signIn));

  app.get<{ Params: Params & { idp_id: string } }>(
    `${base}/federation/:idp_id`,
    {
      schema: {
        tags: ['Federation'],
        summary: 'Sign in through an identity provider (the SSO button)',
        description:
          'Starts the sign-in at an OIDC or SAML identity provider of the tenant: a redirect to it (authorization code with PKCE and nonce, or an AuthnRequest); its answer comes back to the federation callback / ACS, then to …/federated.',
        params: Type.Object({
          tenant_slug: Type.String(),
          uid: Type.String({ maxLength: 64 }),
          idp_id: Type.String({ maxLength: 64 }),
        }),
        response: {
          303: { description: 'To the identity provider (Location)', type: 'null' },
          400: NotValidHere,
          404: HtmlPage('No tenant, or no enabled provider of this id: the sign-in form with the message'),
        },
      },
    },
    (request, reply) => withForm(request, reply, { idp_id: request.params.idp_id }, [startFederation]),
  );

  app.get<{ Params: Params; Querystring: { login?: string } }>(
    `${base}/federated`,
    {
      schema: {
        tags: ['Federation'],
        summary: 'Continue the sign-in after the identity provider answered',
        description:
          'Where the federation callback and the SAML ACS send the browser: the verified upstream identity is linked to, or creates (JIT), the user; the mappings apply; the tenant’s MFA policy and the account checks follow, then the authorization goes on.',
        params: SlugUid,
        querystring: Type.Object({ login: Type.Optional(Type.String({ maxLength: 128 })) }),
        response: {
          200: HtmlPage('A second factor is asked, or it must be set up first'),
          303: Redirect,
          400: NotValidHere,
          401: HtmlPage(
            'The provider refused or its answer did not pass the checks: the sign-in form with why',
          ),
          403: HtmlPage('No account may sign in (no JIT, disabled, …): the sign-in form with why'),
          404: NoTenant,
        },
      },
    },
    (request, reply) => withForm(request, reply, { login: request.query.login ?? '' }, [federatedReturn]),
  );

  await passkeyRoutes(app, { base, load, run, rateLimits: options.rateLimits });
}

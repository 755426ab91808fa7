import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../platform/errors.js';
import { noStore, ok } from '../../platform/http.js';
import {
  Envelope,
  ErrorSchema,
  HtmlPage,
  pageFormErrors,
  ValidationErrorSchema,
} from '../../platform/schemas.js';
import { VIEWS } from '../hosted-pages/pages.js';
import type { SignInRateLimits } from '../oauth/rate-limits.js';
import { ENROLL, loadChallenge, VERIFY } from './mfa-steps.js';
import {
  enrollmentPasskeyOptions,
  passkeySignInOptions,
  secondFactorPasskeyOptions,
} from './passkey-steps.js';
import { PASSKEY_SIGN_IN, type SignIn, type SignInStep } from './sign-in-steps.js';

type Params = { tenant_slug: string; uid: string };
type Request = FastifyRequest<{ Params: Params }>;

const SlugUid = Type.Object({ tenant_slug: Type.String(), uid: Type.String({ maxLength: 64 }) });
const FORM = 'application/x-www-form-urlencoded';

/**
 * The script of the pages that offer passkeys: @simplewebauthn/browser's UMD bundle (the global
 * `SimpleWebAuthnBrowser`), then ScaiKey's own (hosted-pages/assets/passkeys.js). Read once.
 */
function passkeyScript(): string {
  const browserPackage = dirname(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')));
  const bundle = readFileSync(join(browserPackage, 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
  const own = readFileSync(join(VIEWS, '..', 'assets', 'passkeys.js'), 'utf8');
  return `${bundle}\n${own}`;
}

const OptionsRequest = Type.Object(
  {
    challenge: Type.Optional(
      Type.String({
        maxLength: 256,
        description:
          'The challenge token of the page (second factor, forced enrollment); none for a sign-in with a passkey alone',
      }),
    ),
  },
  { additionalProperties: false, title: 'PasskeyOptionsRequest' },
);

const PasskeyOptions = Type.Object(
  { challenge: Type.String({ description: 'base64url' }) },
  {
    additionalProperties: true,
    title: 'PasskeyCeremonyOptions',
    description:
      'PublicKeyCredentialRequestOptionsJSON (sign-in, second factor) or PublicKeyCredentialCreationOptionsJSON (forced enrollment)',
  },
);

const PasskeyForm = Type.Object(
  {
    csrf: Type.String({ description: 'From the page' }),
    response: Type.String({ description: 'The WebAuthn assertion as JSON (set by the page’s script)' }),
  },
  { title: 'PasskeySignInForm' },
);

/**
 * The passkey routes of the hosted sign-in (docs/api-decisions.md, "Passkeys"), registered by
 * interactionRoutes with its interaction loader: the pages' script, the options of a ceremony
 * (JSON, for the script), and the sign-in with a passkey alone (a form post).
 */
export async function passkeyRoutes(
  app: FastifyInstance,
  options: {
    base: string;
    load: (request: Request, reply: FastifyReply) => Promise<SignIn>;
    run: (steps: readonly SignInStep[], request: Request, reply: FastifyReply) => Promise<unknown>;
    rateLimits: SignInRateLimits;
  },
): Promise<void> {
  const { base, load, run, rateLimits } = options;
  const script = passkeyScript();

  app.get(
    '/api/v1/auth/tenants/:tenant_slug/passkeys.js',
    {
      schema: {
        tags: ['Authentication'],
        summary: 'The passkey script of the sign-in pages',
        description:
          'JavaScript that runs navigator.credentials.get/create for the hosted pages that offer passkeys (the only script of the pages; CSP `script-src self` on those pages only).',
        params: Type.Object({ tenant_slug: Type.String() }),
        response: {
          200: {
            description: 'The script',
            content: { 'text/javascript': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .header('x-content-type-options', 'nosniff')
        .send(script),
  );

  app.post<{ Params: Params; Body: { challenge?: string } }>(
    `${base}/passkey/options`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Options of a passkey ceremony of a sign-in',
        description:
          'For the page’s script (JSON, the interaction’s cookie): without `challenge`, request options for a sign-in with a discoverable passkey (user verification required), the challenge bound to this interaction for 5 minutes; with the challenge token of the second-factor page, request options for the user’s passkeys; with that of the forced enrollment, creation options. 409 MFA_METHOD_NOT_ALLOWED when the tenant does not allow `webauthn`.',
        params: SlugUid,
        body: OptionsRequest,
        response: {
          200: Envelope(PasskeyOptions),
          400: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          422: ValidationErrorSchema,
          429: ErrorSchema,
        },
      },
      onRequest: rateLimits.onRequest,
    },
    async (request, reply) => {
      noStore(reply);
      const signIn = await load(request, reply);
      if (!request.body.challenge) return ok(request, { ...(await passkeySignInOptions(signIn)) });
      await loadChallenge(signIn);
      const purpose = signIn.challenge?.purpose;
      if (purpose === VERIFY) return ok(request, { ...(await secondFactorPasskeyOptions(signIn)) });
      if (purpose === ENROLL) return ok(request, { ...(await enrollmentPasskeyOptions(signIn)) });
      throw new AppError('BAD_REQUEST', 'This step does not use a passkey.');
    },
  );

  app.post<{ Params: Params; Body: Record<string, string> }>(
    `${base}/passkey`,
    {
      schema: {
        tags: ['Authentication'],
        summary: 'Sign in with a passkey',
        description:
          'The sign-in page’s “Sign in with a passkey” (docs/api-decisions.md, “Passkeys”): an assertion of a discoverable credential with user verification, for the challenge of this interaction. The credential finds the factor among this tenant’s; the account must be active (and assigned to an application that requires it). The ID token then says amr `hwk` (or `swk` for a synced passkey) and `mfa`, acr urn:scaikey:loa:2.',
        params: SlugUid,
        consumes: [FORM],
        documentedBody: PasskeyForm,
        response: {
          303: { description: 'Back into the authorization flow (Location)', type: 'null' },
          400: HtmlPage('The sign-in attempt expired or belongs to another browser (a page)'),
          401: HtmlPage('The passkey was not accepted: the sign-in form again, with the message'),
          403: HtmlPage('The form expired (CSRF token): a page'),
          404: HtmlPage('No live tenant has this slug (a page)'),
          409: HtmlPage('The tenant does not allow passkeys (a page)'),
          ...pageFormErrors,
          429: HtmlPage('Too many sign-in attempts; retry after the seconds in Retry-After (a page)'),
        },
      },
      onRequest: rateLimits.onRequest,
    },
    (request, reply) => run(PASSKEY_SIGN_IN, request, reply),
  );
}

import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertWebApplication, type Tenant } from './helpers/factories.js';
import { linkIn } from './helpers/mail.js';
import { generousRateLimits, startTestApp, useTestApp } from './helpers/test-app.js';

// Issue 11, item 7: the login page links to "Forgot password?", a page that mails a reset link to
// the address's account (the same answer for every address), and the link sets a new password.

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let conf: client.Configuration;
const CALLBACK = 'http://127.0.0.1:9/callback';
const PASSWORD = 'Correct-Horse-Battery-9';
const NEW_PASSWORD = 'Another-Staple-Battery-7';

beforeAll(async () => {
  tenant = await createTenant(t, { branding: { display_name: 'Reset Corp', primary_color: '#aa3300' } });
  const app = await insertWebApplication(t, tenant, ['openid'], [CALLBACK]);
  conf = await client.discovery(
    new URL(`${t.origin}/api/v1/auth/tenants/${tenant.slug}`),
    app.id,
    undefined,
    client.ClientSecretBasic(app.secret),
    { execute: [client.allowInsecureRequests] },
  );
});

let n = 0;
async function createUser(fields: Record<string, unknown> = {}) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `forgot-${++n}@acme.example`,
    password: PASSWORD,
    send_welcome_email: false,
    ...fields,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.data as { id: string; email: string };
}

async function loginPage(browser: TestBrowser) {
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const page = await browser.follow(url.href);
  expect(page.status).toBe(200);
  return page;
}

/** The reset mail to `to`, once the request's after-answer work has written it to the outbox. */
async function resetMailTo(to: string) {
  for (;;) {
    const mail = await t.database.db
      .selectFrom('email_outbox')
      .selectAll()
      .where('recipient', '=', to)
      .where('kind', '=', 'password_reset')
      .executeTakeFirst();
    if (mail) return mail;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const linkHref = (body: string, text: string) =>
  new RegExp(`<a href="([^"]+)">${text}</a>`).exec(body)?.[1]?.replace(/&amp;/g, '&') ?? null;

describe('forgot password', () => {
  it('is linked from the login page and mails a link that sets a new password', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    const login = await loginPage(browser);
    const href = linkHref(login.body, 'Forgot password\\?');
    expect(href).toMatch(new RegExp(`^/api/v1/auth/tenants/${tenant.slug}/forgot-password\\?interaction=`));

    const forgot = await browser.follow(`${t.origin}${href}`);
    expect(forgot.status).toBe(200);
    expect(forgot.body).toContain('Reset Corp');
    expect(forgot.body).toContain('#aa3300');
    const answer = await browser.submitForm(forgot, { email: user.email.toUpperCase() });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('we sent it a link');
    // Back to the same sign-in, which still works.
    const back = linkHref(answer.body, 'Back to sign-in');
    expect(back).toBe(new URL(login.url).pathname);

    const mail = await resetMailTo(user.email);
    const link = linkIn(mail.text_body);
    const setPage = await browser.follow(`${t.origin}${link.url}`);
    expect(setPage.status).toBe(200);
    expect(setPage.body).toContain('Reset Corp');
    const set = await browser.submitForm(setPage, {
      new_password: NEW_PASSWORD,
      confirm_password: NEW_PASSWORD,
    });
    expect(set.status).toBe(200);
    expect(set.body).toContain('Your password was set');

    const again = await browser.follow(`${t.origin}${back}`);
    const signedIn = await browser.submitForm(again, { email: user.email, password: NEW_PASSWORD });
    expect(signedIn.location).toMatch(/code=/);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'after'])
      .where('resource_id', '=', user.id)
      .where('action', '=', 'user.password_reset_requested')
      .executeTakeFirstOrThrow();
    expect(audit.after).toMatchObject({ method: 'SELF_SERVICE' });
  });

  it('answers every address alike, as a page and as JSON', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    const page = await browser.follow(`${t.origin}/api/v1/auth/tenants/${tenant.slug}/forgot-password`);
    const known = await browser.submitForm(page, { email: user.email });
    const unknown = await browser.submitForm(page, { email: `nobody-${user.email}` });
    expect(known.status).toBe(200);
    expect(unknown.body).toBe(known.body);

    const json = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/forgot-password`,
      body: { email: 'nobody@acme.example' },
    });
    expect(json.status).toBe(202);
    expect(json.body.data.message).toContain('If this address has an account');
    const invalid = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/forgot-password`,
      body: { email: '' },
    });
    expect(invalid.status).toBe(422);
    const missing = await t.request({
      method: 'POST',
      url: '/api/v1/auth/tenants/no-such-tenant/forgot-password',
      body: { email: 'someone@acme.example' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
    const missingPage = await fetch(`${t.origin}/api/v1/auth/tenants/no-such-tenant/forgot-password`);
    expect(missingPage.status).toBe(404);
    expect(missingPage.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('limits the requests per address (mail flooding): 429 with Retry-After', async () => {
    const limited = await startTestApp({
      rateLimits: generousRateLimits({ forgotPasswordPerAddress: { max: 2, windowMs: 3_600_000 } }),
    });
    try {
      const other = await createTenant(limited);
      // The form's CSRF token and its cookie, from the page (every hosted form post needs them).
      const page = await limited.app.inject({
        method: 'GET',
        url: `/api/v1/auth/tenants/${other.slug}/forgot-password`,
      });
      const csrf = /name="csrf" value="([^"]*)"/.exec(page.body)?.[1] as string;
      const cookie = page.cookies.map(({ name, value }) => `${name}=${value}`).join('; ');
      const post = (email: string) =>
        limited.app.inject({
          method: 'POST',
          url: `/api/v1/auth/tenants/${other.slug}/forgot-password`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
          payload: new URLSearchParams({ email, csrf }).toString(),
        });
      expect((await post('flood@acme.example')).statusCode).toBe(200);
      expect((await post('FLOOD@acme.example')).statusCode).toBe(200);
      const refused = await post('flood@acme.example');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body).toContain('Too many requests');
      // Another address is not affected.
      expect((await post('someone-else@acme.example')).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

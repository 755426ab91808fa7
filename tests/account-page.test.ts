import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accountUrl as accountPageUrl,
  formOf,
  type Page,
  signInToAccount as signIn,
  submit,
} from './helpers/account-page.js';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, type Tenant } from './helpers/factories.js';
import { lastMailTo } from './helpers/mail.js';
import { createSignInUser, PASSWORD, passwordSignIn, signInRealm } from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 13: the hosted account page (/api/v1/auth/tenants/{slug}/account), driven over HTTP as a
// browser would: its session is the tenant's sign-in session, its forms carry their CSRF token.

const t = useTestApp({}, { live: true });

let tenant: Tenant;
let otherTenant: Tenant;
let config: client.Configuration;

beforeAll(async () => {
  ({ tenant, config } = await signInRealm(t));
  otherTenant = await createTenant(t);
});

const accountUrl = (slug = tenant.slug) => accountPageUrl(t, slug);

const createUser = (inTenant = tenant) => createSignInUser(t, inTenant, { first_name: 'Ada' });

const signInToAccount = (user: { email: string }, slug = tenant.slug) => signIn(t, user, slug);

/** Signs `user` in to the web application with a new browser: its refresh token. */
async function signInToApp(user: { email: string }) {
  const { tokens } = await passwordSignIn(t, config, user.email, { scope: 'openid offline_access' });
  return tokens.refresh_token as string;
}

const auditActions = async (userId: string) =>
  (
    await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_type', 'actor_id'])
      .where('resource_id', '=', userId)
      .execute()
  ).filter((entry) => entry.actor_id === userId && entry.actor_type === 'user');

const sessionIds = (page: Page) =>
  [...page.body.matchAll(/name="session_id" value="(ses_[0-9a-z]+)"/g)].map((m) => m[1] as string);

describe('account page', () => {
  it('sends a browser without a session through the tenant sign-in and back to the page', async () => {
    const user = await createUser();
    const applicationsBefore = await t.database.db
      .selectFrom('applications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const browser = new TestBrowser(t.origin);
    const first = await browser.request(accountUrl());
    expect(first.status).toBe(303);
    const location = new URL(first.location as string);
    expect(location.pathname).toBe(`/api/v1/auth/tenants/${tenant.slug}/oauth/authorize`);
    expect(location.searchParams.get('client_id')).toBe('scaikey-account');
    const signInPage = await browser.follow(accountUrl());
    const page = await browser.submitForm(signInPage, { email: user.email, password: PASSWORD });
    expect(page.status).toBe(200);
    expect(page.url).toBe(accountUrl());
    expect(page.body).toContain(`Signed in as <strong>${user.email}</strong>`);
    // This browser's session, marked; the page's own sign-in is no authorized app.
    expect(page.body).toContain('(this browser)');
    expect(page.body).toContain('No application uses your account.');
    // The page's session cookie is the provider's, scoped to the tenant; no code in the final URL.
    expect(page.url).not.toContain('code=');
    const applicationsAfter = await t.database.db
      .selectFrom('applications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(applicationsAfter.n)).toBe(Number(applicationsBefore.n));
    // The code the callback received was destroyed unredeemed.
    const codes = await t.database.db
      .selectFrom('oidc_payloads')
      .select('id')
      .where('model', '=', 'AuthorizationCode')
      .where(({ eb, ref }) => eb(ref('payload', '->>').key('clientId' as never), '=', 'scaikey-account'))
      .execute();
    expect(codes).toEqual([]);
  });

  it('saves the profile through the profile service (audited, actor the user); a wrong field is shown on the page', async () => {
    const user = await createUser();
    const { browser, page } = await signInToAccount(user);
    const saved = await submit(browser, page, 'profile-form', {
      display_name: 'Ada L.',
      phone: '',
      timezone: 'Europe/Brussels',
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toContain('Your profile was saved.');
    const read = await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`);
    expect(read.body.data).toMatchObject({
      display_name: 'Ada L.',
      first_name: 'Ada',
      timezone: 'Europe/Brussels',
      phone: null,
    });
    expect((await auditActions(user.id)).map((entry) => entry.action)).toContain('user.updated');

    const wrong = await submit(browser, saved, 'profile-form', { timezone: 'Mars/Olympus' });
    expect(wrong.status).toBe(422);
    expect(wrong.body).toMatch(/class="error" role="alert">Time zone/);
    // What was typed stays in the form.
    expect(wrong.body).toContain('value="Mars/Olympus"');
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`)).body.data.timezone).toBe(
      'Europe/Brussels',
    );
  });

  it('enrolls an authenticator app with a code computed from its key, then removes it with a backup code', async () => {
    const user = await createUser();
    const { browser, page } = await signInToAccount(user);
    const enroll = await submit(browser, page, 'totp-form');
    expect(enroll.status).toBe(200);
    expect(enroll.body).toContain('<svg');
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(enroll.body)?.[1] as string;
    expect(secret).toBeTruthy();

    const wrong = await submit(browser, enroll, 'totp-confirm-form', { code: '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('class="error"');
    expect(wrong.body).toContain(secret);
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`)).body.data.mfa_enabled).toBe(false);

    const code = TOTP.generate({ secret: Secret.fromBase32(secret) });
    const codesPage = await submit(browser, wrong, 'totp-confirm-form', { code });
    expect(codesPage.status).toBe(200);
    const backupCodes = [...codesPage.body.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map(
      (m) => m[1] as string,
    );
    expect(backupCodes).toHaveLength(10);
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`)).body.data.mfa_enabled).toBe(true);

    const account = await browser.follow(accountUrl());
    expect(account.body).toContain('Backup codes left: 10.');
    const factorId = /name="factor_id" value="([^"]+)"/.exec(account.body)?.[1] as string;

    const badRemoval = await submit(browser, account, `remove-${factorId}`, { code: '12345678' });
    expect(badRemoval.status).toBe(400);
    expect(badRemoval.body).toMatch(/class="error" role="alert">A current code is required/);

    const removed = await submit(browser, badRemoval, `remove-${factorId}`, {
      code: backupCodes[0] as string,
    });
    expect(removed.status).toBe(200);
    expect(removed.body).toContain('The factor was removed.');
    expect(removed.body).toContain('Off: your password alone signs you in.');
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`)).body.data.mfa_enabled).toBe(false);
    expect((await auditActions(user.id)).map((entry) => entry.action)).toEqual(
      expect.arrayContaining([
        'user.mfa_factor_added',
        'user.mfa_enabled',
        'user.mfa_factor_removed',
        'user.mfa_disabled',
      ]),
    );
  });

  it('turns on email codes with the code from the outbox; a wrong code shows the form again', async () => {
    const user = await createUser();
    const { browser, page } = await signInToAccount(user);
    const sent = await submit(browser, page, 'email-codes-form');
    expect(sent.status).toBe(200);
    expect(sent.body).toContain('We sent a code to');
    const mail = await lastMailTo(t, user.email);
    const code = /code [^:]*: (\d{6})/.exec(mail?.text_body ?? '')?.[1] as string;
    expect(code).toMatch(/^\d{6}$/);
    const wrong = await submit(browser, sent, 'email-confirm-form', {
      code: code === '000000' ? '111111' : '000000',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('class="error"');
    const codes = await submit(browser, wrong, 'email-confirm-form', { code });
    expect(codes.status).toBe(200);
    expect([...codes.body.matchAll(/<li><code>/g)]).toHaveLength(10);
    const account = await browser.follow(accountUrl());
    expect(account.body).toContain('(email codes)');
    expect(account.body).not.toContain('id="email-codes-form"');
  });

  it('changes the password with the current one: other sessions end, this browser stays', async () => {
    const user = await createUser();
    const refreshToken = await signInToApp(user);
    const { browser, page } = await signInToAccount(user);
    const wrong = await submit(browser, page, 'password-form', {
      current_password: 'not-it',
      new_password: 'Another-Horse-Battery-7',
      confirm_password: 'Another-Horse-Battery-7',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatch(/class="error" role="alert">The current password is not correct/);
    const differ = await submit(browser, wrong, 'password-form', {
      current_password: PASSWORD,
      new_password: 'Another-Horse-Battery-7',
      confirm_password: 'Another-Horse-Battery-8',
    });
    expect(differ.status).toBe(400);
    expect(differ.body).toContain('The two new passwords differ.');
    const changed = await submit(browser, differ, 'password-form', {
      current_password: PASSWORD,
      new_password: 'Another-Horse-Battery-7',
      confirm_password: 'Another-Horse-Battery-7',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toContain('Your password was changed.');
    expect(sessionIds(changed)).toHaveLength(1);
    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await auditActions(user.id)).map((entry) => entry.action)).toContain('user.password_changed');
  });

  it('ends another session from the list: its refresh token is refused, this browser stays signed in', async () => {
    const user = await createUser();
    const refreshToken = await signInToApp(user);
    const { browser, page } = await signInToAccount(user);
    const ids = sessionIds(page);
    expect(ids).toHaveLength(2);
    const current = /<li class="current">[\s\S]*?name="session_id" value="(ses_[0-9a-z]+)"/.exec(
      page.body,
    )?.[1];
    const otherId = ids.find((id) => id !== current) as string;
    expect(current).toBeTruthy();

    const ended = await submit(browser, page, `end-${otherId}`);
    expect(ended.status).toBe(200);
    expect(ended.body).toContain('The session was ended.');
    expect(sessionIds(ended)).toEqual([current]);
    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_id'])
      .where('resource_id', '=', otherId)
      .execute();
    expect(audit).toEqual([{ action: 'session.revoked', actor_id: user.id }]);
  });

  it('refuses a session of another tenant: by id in the form (404) and as a cookie (sent to sign in)', async () => {
    const user = await createUser();
    const stranger = await createUser(otherTenant);
    const { browser, page } = await signInToAccount(user);
    const foreign = await signInToAccount(stranger, otherTenant.slug);
    const [foreignId] = sessionIds(foreign.page);

    const refused = await submit(browser, page, `end-${sessionIds(page)[0]}`, {
      session_id: foreignId as string,
    });
    expect(refused.status).toBe(404);
    expect(refused.body).toMatch(/class="error" role="alert">Session not found/);
    expect((await foreign.browser.request(accountUrl(otherTenant.slug))).status).toBe(200);

    // The other tenant's signed session cookie, presented here, signs no one in.
    const crafted = new TestBrowser(t.origin);
    for (const [name, value] of foreign.browser.cookies)
      if (name.startsWith('_session')) crafted.cookies.set(name, value);
    expect(crafted.cookies.size).toBe(2);
    const answer = await crafted.request(accountUrl());
    expect(answer.status).toBe(303);
    expect(answer.location).toContain(`/api/v1/auth/tenants/${tenant.slug}/oauth/authorize`);
    expect(answer.body).not.toContain(stranger.email);
  });

  it('stops at once when the session is revoked from the admin API, and signs out from the page', async () => {
    const user = await createUser();
    const first = await signInToAccount(user);
    const [sessionId] = sessionIds(first.page);
    expect((await t.delete(`/api/v1/admin/sessions/${sessionId}`)).status).toBe(204);
    const after = await first.browser.request(accountUrl());
    expect(after.status).toBe(303);
    expect(after.location).toContain('/oauth/authorize');
    // A form of the old page, CSRF token and all, changes nothing.
    const posted = await submit(first.browser, first.page, 'profile-form', { display_name: 'Changed' });
    expect(posted.body).toContain('name="password"');
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`)).body.data.display_name).toBeNull();

    const second = await signInToAccount(user);
    const signedOut = await submit(second.browser, second.page, 'sign-out-form');
    expect(signedOut.status).toBe(200);
    expect(signedOut.body).toContain('You are signed out.');
    expect((await second.browser.request(accountUrl())).status).toBe(303);
    expect((await t.get(`/api/v1/admin/sessions/?user_id=${user.id}`)).body.data).toEqual([]);
  });

  it('answers a form without its CSRF token with the 403 page, and a JSON body with 415', async () => {
    const user = await createUser();
    const { browser, page } = await signInToAccount(user);
    const form = formOf(page, 'profile-form');
    const forged = await browser.request(form.action, { form: { display_name: 'Forged' } });
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('This form has expired');
    const json = await fetch(form.action, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      body: JSON.stringify({ display_name: 'Forged' }),
      redirect: 'manual',
    });
    expect(json.status).toBe(415);
    expect((await t.get(`/api/v1/tenants/${tenant.id}/users/${user.id}`)).body.data.display_name).toBeNull();
  });
  it('offers neither passkeys (no host name in the public URL) nor SMS (no sender); their routes refuse', async () => {
    const open = await createTenant(t, { settings: { mfa_methods: ['totp', 'email', 'webauthn', 'sms'] } });
    const user = await createUser(open);
    const { browser, page } = await signInToAccount(user, open.slug);
    const accountUrl = () => accountPageUrl(t, open.slug);
    // The tenant allows every method; this server (http://127.0.0.1) cannot be a WebAuthn RP ID
    // and has no SMS sender.
    expect(page.body).toContain('id="totp-form"');
    expect(page.body).not.toContain('passkey');
    expect(page.body).not.toContain('<script');
    expect(page.body).not.toContain('id="sms-form"');

    // The forms, posted anyway (CSRF token of the page), answer the page with the reason.
    const csrf = formOf(page, 'totp-form').hidden.csrf as string;
    const sms = await browser.follow(`${accountUrl()}/mfa/sms`, {
      form: { csrf, phone_number: '+31612345678' },
    });
    expect(sms.status).toBe(409);
    expect(sms.body).toMatch(/class="error" role="alert">This server has no SMS sender/);
    const badNumber = await browser.follow(`${accountUrl()}/mfa/sms`, {
      form: { csrf, phone_number: '0612' },
    });
    expect(badNumber.status).toBe(400);
    expect(badNumber.body).toMatch(
      /class="error" role="alert">Enter your mobile number in international format/,
    );
    const passkey = await browser.follow(`${accountUrl()}/mfa/passkey`, {
      form: { csrf, name: 'Laptop', response: '{"id":"a"}' },
    });
    expect(passkey.status).toBe(409);
    expect(passkey.body).toMatch(/class="error" role="alert">Passkeys need SCAIKEY_PUBLIC_URL/);
    const empty = await browser.follow(`${accountUrl()}/mfa/passkey`, { form: { csrf, response: '' } });
    expect(empty.status).toBe(400);

    // The script's JSON call: the reason in the error envelope.
    const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const options = await fetch(`${accountUrl()}/mfa/passkey/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: '{}',
    });
    expect(options.status).toBe(409);
    expect(((await options.json()) as { code: string }).code).toBe('WEBAUTHN_UNAVAILABLE');
    const presence = await fetch(`${accountUrl()}/mfa/passkey/reauthenticate-options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: '{}',
    });
    expect(presence.status).toBe(409);
    const factors = await t.database.db
      .selectFrom('mfa_factors')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(factors).toEqual([]);
  });

  it('the passkey options call: 401 without a session, not a form; the passkey form needs its CSRF token', async () => {
    const anonymous = await fetch(`${accountUrl()}/mfa/passkey/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('UNAUTHORIZED');

    const user = await createUser();
    const { browser } = await signInToAccount(user);
    const asForm = await browser.request(`${accountUrl()}/mfa/passkey/options`, { form: { csrf: 'x' } });
    expect(asForm.status).toBe(422);
    const forged = await browser.request(`${accountUrl()}/mfa/passkey`, { form: { response: '{}' } });
    expect(forged.status).toBe(403);
    const smsForged = await browser.request(`${accountUrl()}/mfa/sms`, {
      form: { phone_number: '+31612345678' },
    });
    expect(smsForged.status).toBe(403);
  });
});

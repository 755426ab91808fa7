import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { lastMailTo } from './helpers/mail.js';
import {
  authorizationRequest,
  createSignInUser,
  PASSWORD,
  type SignInRealm,
  signInRealm,
} from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp({}, { live: true });
const ACR_MFA = 'urn:scaikey:loa:2';

type Realm = SignInRealm;
const realm = (settings: Record<string, unknown> = {}) => signInRealm(t, { settings });
const createUser = (r: Realm) => createSignInUser(t, r.tenant, { first_name: 'Mia', last_name: 'Factor' });

/** The authorization request up to the page after the password (or the callback). */
async function startSignIn(
  r: Realm,
  browser: TestBrowser,
  email: string,
  extra: Record<string, string> = {},
) {
  const request = await authorizationRequest(r.config, extra);
  const first = await browser.follow(request.url);
  const page =
    first.location || !first.body.includes('name="password"')
      ? first
      : await browser.submitForm(first, { email, password: PASSWORD });
  return {
    page,
    tokens: async (callback: string | null) => {
      expect(callback).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
      return request.tokens(callback);
    },
  };
}

/** Signs in with the password alone (no factor yet) and returns the tokens. */
async function passwordTokens(r: Realm, browser: TestBrowser, email: string) {
  const flow = await startSignIn(r, browser, email);
  return flow.tokens(flow.page.location);
}

const totpCode = (secret: string, offsetSteps = 0) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offsetSteps * 30_000 });

async function enrollTotp(token: string) {
  const started = await t.post('/api/v1/me/mfa/totp/enroll', { name: 'Phone' }, { token });
  expect(started.status).toBe(200);
  const { secret, otpauth_uri, qr_svg } = started.body.data;
  expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\/.*secret=/);
  expect(otpauth_uri).toContain('algorithm=SHA1');
  expect(qr_svg).toContain('<svg');
  const confirmed = await t.post('/api/v1/me/mfa/totp/confirm', { code: totpCode(secret) }, { token });
  expect(confirmed.status).toBe(200);
  return { secret, backupCodes: confirmed.body.data.backup_codes as string[] };
}

describe('TOTP', () => {
  it('enrolls through the self-service API, then sign-in asks for a code; amr and acr say so', async () => {
    const r = await realm();
    const user = await createUser(r);
    const tokens = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    expect(decodeJwt(tokens.id_token as string)).toMatchObject({ amr: ['pwd'], acr: 'urn:scaikey:loa:1' });
    const token = tokens.access_token;

    const wrong = await t.post('/api/v1/me/mfa/totp/enroll', {}, { token });
    const badConfirm = await t.post('/api/v1/me/mfa/totp/confirm', { code: '000000' }, { token });
    expect(wrong.status).toBe(200);
    expect(badConfirm.status).toBe(400);
    expect(badConfirm.body.code).toBe('INVALID_MFA_CODE');
    // Nothing half-enrolled: the factor is not listed and the user is not mfa_enabled.
    const before = await t.get('/api/v1/me/mfa', { token });
    expect(before.body.data).toMatchObject({ mfa_enabled: false, factors: [] });

    const { secret, backupCodes } = await enrollTotp(token);
    expect(backupCodes).toHaveLength(10);
    const overview = await t.get('/api/v1/me/mfa', { token });
    expect(overview.body.data).toMatchObject({ mfa_enabled: true, backup_codes_remaining: 10 });
    expect(overview.body.data.factors).toEqual([
      expect.objectContaining({ type: 'totp', name: 'Phone', confirmed: true }),
    ]);
    const admin = await t.get(`/api/v1/tenants/${r.tenant.id}/users/${user.id}`);
    expect(admin.body.data.mfa_enabled).toBe(true);
    const listed = await t.get(`/api/v1/tenants/${r.tenant.id}/users?mfa_enabled=true`);
    expect(listed.body.data.map((u: { id: string }) => u.id)).toEqual([user.id]);

    // The seed is stored sealed, never in clear.
    const row = await t.database.db
      .selectFrom('mfa_factors')
      .select('secret')
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.secret).not.toContain(secret);

    const browser = new TestBrowser(t.origin);
    const flow = await startSignIn(r, browser, user.email);
    expect(flow.page.status).toBe(200);
    expect(flow.page.body).toContain('Two-step verification');
    const refused = await browser.submitForm(flow.page, { code: '000000' });
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('The code is not correct');
    // The code of the next step (clock drift): the code of the current step was spent at enrollment.
    const done = await browser.submitForm(refused, { code: totpCode(secret, 1) });
    const signedIn = await flow.tokens(done.location);
    const id = decodeJwt(signedIn.id_token as string);
    expect(id.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(id.acr).toBe(ACR_MFA);

    // A spent code is refused (replay), also for a factor change.
    const replay = await t.post('/api/v1/me/mfa/totp/disable', { code: totpCode(secret, 1) }, { token });
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe('INVALID_MFA_CODE');

    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'result'])
      .where('resource_id', '=', user.id)
      .execute();
    const actions = audit.map((entry) => `${entry.action}:${entry.result}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'user.mfa_factor_added:SUCCESS',
        'user.mfa_enabled:SUCCESS',
        'user.mfa_verified:SUCCESS',
        'user.mfa_failed:FAILURE',
      ]),
    );
  });

  it('accepts a backup code once, and backup codes can be regenerated with a current code', async () => {
    const r = await realm();
    const user = await createUser(r);
    const { access_token: token } = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    const { backupCodes } = await enrollTotp(token);
    const [first, second] = backupCodes as [string, string];

    const browser = new TestBrowser(t.origin);
    const flow = await startSignIn(r, browser, user.email);
    const done = await browser.submitForm(flow.page, { code: first });
    await flow.tokens(done.location);

    const other = new TestBrowser(t.origin);
    const again = await startSignIn(r, other, user.email);
    const reused = await other.submitForm(again.page, { code: first });
    expect(reused.status).toBe(401);

    const regenerated = await t.post('/api/v1/me/mfa/backup-codes/regenerate', { code: second }, { token });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.data.backup_codes).toHaveLength(10);
    const old = await t.post('/api/v1/me/mfa/backup-codes/regenerate', { code: backupCodes[2] }, { token });
    expect(old.status).toBe(400);
    const overview = await t.get('/api/v1/me/mfa', { token });
    expect(overview.body.data.backup_codes_remaining).toBe(10);
  });

  it('counts wrong codes toward the lockout', async () => {
    const r = await realm({ lockout: { max_failed_attempts: 3, lockout_minutes: 15 } });
    const user = await createUser(r);
    const { access_token: token } = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    await enrollTotp(token);
    const browser = new TestBrowser(t.origin);
    const flow = await startSignIn(r, browser, user.email);
    // The password counted one attempt; two wrong codes reach three.
    const first = await browser.submitForm(flow.page, { code: '111111' });
    expect(first.status).toBe(401);
    const second = await browser.submitForm(first, { code: '222222' });
    expect(second.status).toBe(400);
    expect(second.body).toContain('locked');
    const status = await t.get(`/api/v1/tenants/${r.tenant.id}/users/${user.id}`);
    expect(status.body.data.status).toBe('LOCKED');
  });
});

describe('email codes', () => {
  it('enrolls with a mailed code and signs in with one', async () => {
    const r = await realm();
    const user = await createUser(r);
    const { access_token: token } = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    const sent = await t.post('/api/v1/me/mfa/email/enable', undefined, { token });
    expect(sent.status).toBe(202);
    // No second mail within 30 seconds (mail bombing).
    const again = await t.post('/api/v1/me/mfa/email/enable', undefined, { token });
    expect(again.status).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    const mail = await lastMailTo(t, user.email);
    const code = /code [^:]*: (\d{6})/.exec(mail?.text_body ?? '')?.[1] as string;
    expect(code).toMatch(/^\d{6}$/);
    expect(mail?.subject).not.toContain(code);
    const confirmed = await t.post('/api/v1/me/mfa/email/confirm', { code }, { token });
    expect(confirmed.status).toBe(200);
    const reused = await t.post('/api/v1/me/mfa/email/confirm', { code }, { token });
    expect(reused.status).toBe(409);

    const browser = new TestBrowser(t.origin);
    const flow = await startSignIn(r, browser, user.email);
    expect(flow.page.body).toContain('Email me a code');
    const emailForm = flow.page.body.slice(flow.page.body.indexOf('</form>') + 7);
    const mailed = await browser.submitForm({ body: emailForm, url: flow.page.url }, {});
    expect(mailed.body).toContain('We sent a code');
    const resend = mailed.body.slice(mailed.body.indexOf('</form>') + 7);
    const tooSoon = await browser.submitForm({ body: resend, url: flow.page.url }, {});
    expect(tooSoon.status).toBe(429);
    const signInMail = await lastMailTo(t, user.email);
    const signInCode = /code [^:]*: (\d{6})/.exec(signInMail?.text_body ?? '')?.[1] as string;
    const done = await browser.submitForm(mailed, { code: signInCode });
    const id = decodeJwt((await flow.tokens(done.location)).id_token as string);
    expect(id.amr).toEqual(['pwd', 'otp', 'mfa']);
  });
});

describe('tenant policy', () => {
  it('leads a user of a tenant that requires MFA through enrollment before any code is issued', async () => {
    const r = await realm();
    const user = await createUser(r);
    const patched = await t.patch(`/api/v1/admin/tenants/${r.tenant.id}`, {
      settings: { mfa_required: true },
    });
    expect(patched.status).toBe(200);
    const browser = new TestBrowser(t.origin);
    const flow = await startSignIn(r, browser, user.email);
    expect(flow.page.status).toBe(200);
    expect(flow.page.body).toContain('Set up two-step verification');
    expect(flow.page.location).toBeNull();
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(flow.page.body)?.[1] as string;
    const wrong = await browser.submitForm(flow.page, { code: '000000' });
    if (wrong.status !== 400) console.log(wrong.status, wrong.body.slice(1500, 4000));
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain(secret);
    const codes = await browser.submitForm(wrong, { code: totpCode(secret) });
    expect(codes.body).toContain('Save your backup codes');
    const done = await browser.submitForm(codes, {});
    const tokens = await flow.tokens(done.location);
    expect(decodeJwt(tokens.id_token as string).amr).toEqual(['pwd', 'otp', 'mfa']);

    // The last factor of a tenant that requires MFA stays.
    const removal = await t.post(
      '/api/v1/me/mfa/totp/disable',
      { code: totpCode(secret, 1) },
      { token: tokens.access_token },
    );
    expect(removal.status).toBe(409);
    expect(removal.body.code).toBe('MFA_REQUIRED_BY_TENANT');
  });

  it('neither offers nor accepts methods outside mfa_methods; SMS has no sender', async () => {
    const r = await realm({ mfa_methods: ['email', 'sms'] });
    const user = await createUser(r);
    const { access_token: token } = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    const totp = await t.post('/api/v1/me/mfa/totp/enroll', {}, { token });
    expect(totp.status).toBe(409);
    expect(totp.body.code).toBe('MFA_METHOD_NOT_ALLOWED');
    const sms = await t.post('/api/v1/me/mfa/sms/enable', { phone_number: '+31612345678' }, { token });
    expect(sms.status).toBe(409);
    expect(sms.body.code).toBe('SMS_NOT_CONFIGURED');
    const overview = await t.get('/api/v1/me/mfa', { token });
    expect(overview.body.data.methods_allowed).toEqual(['email', 'sms']);
  });

  it('stops asking for, and accepting, a factor whose method the tenant no longer allows', async () => {
    const r = await realm();
    const user = await createUser(r);
    const { access_token: token } = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    const { secret } = await enrollTotp(token);
    const narrowed = await t.patch(`/api/v1/admin/tenants/${r.tenant.id}`, {
      settings: { mfa_methods: ['email'], mfa_required: true },
    });
    expect(narrowed.status).toBe(200);
    // The TOTP factor does not count any more: the user sets up an allowed one (email codes only).
    const browser = new TestBrowser(t.origin);
    const flow = await startSignIn(r, browser, user.email);
    expect(flow.page.body).toContain('Set up two-step verification');
    expect(flow.page.body).not.toContain('Authenticator app');
    expect(flow.page.body).toContain('Email codes');
    // An app code posted anyway is not a form of this step.
    const refused = await browser.submitForm(flow.page, { op: 'verify', code: totpCode(secret, 1) });
    expect(refused.status).toBe(400);
  });
});

describe('step-up', () => {
  it('acr_values asking for MFA makes a password-only session give its second factor; max_age the password', async () => {
    const r = await realm();
    const user = await createUser(r);
    const browser = new TestBrowser(t.origin);
    const { access_token: token } = await passwordTokens(r, browser, user.email);
    const { secret } = await enrollTotp(token);

    // The session is a password-only one: a plain request goes through silently.
    const plain = await startSignIn(r, browser, user.email);
    expect(plain.page.location).toMatch(/callback\?code=/);

    const stepUp = await startSignIn(r, browser, user.email, { acr_values: ACR_MFA });
    expect(stepUp.page.body).toContain('Two-step verification');
    expect(stepUp.page.body).not.toContain('name="password"');
    const done = await browser.submitForm(stepUp.page, { code: totpCode(secret, 1) });
    const id = decodeJwt((await stepUp.tokens(done.location)).id_token as string);
    expect(id).toMatchObject({ acr: ACR_MFA });
    expect(id.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));

    // Now the session has MFA: the same request passes silently.
    const again = await startSignIn(r, browser, user.email, { acr_values: ACR_MFA });
    expect(again.page.location).toMatch(/callback\?code=/);

    // max_age=0 asks for the password again.
    const fresh = await browser.follow((await authorizationRequest(r.config, { max_age: '0' })).url);
    expect(fresh.body).toContain('name="password"');
  });
});

describe('admin', () => {
  it('an administrator’s MFA disable removes every factor and ends the sessions', async () => {
    const r = await realm();
    const user = await createUser(r);
    const tokens = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    await enrollTotp(tokens.access_token);
    const disabled = await t.post(`/api/v1/admin/users/${user.id}/mfa/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.data.mfa_enabled).toBe(false);
    const factors = await t.database.db
      .selectFrom('mfa_factors')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(factors).toEqual([]);
    await expect(client.refreshTokenGrant(r.config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const me = await t.get('/api/v1/me', { token: tokens.access_token });
    expect(me.status).toBe(401);
  });
});

describe('direct-login API', () => {
  async function postJson(browser: TestBrowser, path: string, body?: unknown) {
    const response = await fetch(`${t.origin}${path}`, {
      method: 'POST',
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const json = (await response.json()) as {
      code?: string;
      data: { status: string; mfa_token: string; redirect_to: string; methods: string[] };
    };
    return { status: response.status, body: json };
  }

  it('answers an MFA challenge after the password, then the way back into the authorization', async () => {
    const r = await realm();
    const user = await createUser(r);
    const { access_token: token } = await passwordTokens(r, new TestBrowser(t.origin), user.email);
    const { secret } = await enrollTotp(token);

    const browser = new TestBrowser(t.origin);
    const request = await authorizationRequest(r.config);
    const page = await browser.follow(request.url);
    const uid = /\/interaction\/([^/?]+)$/.exec(page.url)?.[1] as string;
    const base = `/api/v1/auth/tenants/${r.tenant.slug}`;

    const wrong = await postJson(browser, `${base}/login`, {
      email: user.email,
      password: 'nope',
      interaction: uid,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    const login = await postJson(browser, `${base}/login`, {
      email: user.email,
      password: PASSWORD,
      interaction: uid,
    });
    expect(login.status).toBe(200);
    expect(login.body.data).toMatchObject({ status: 'MFA_REQUIRED', methods: ['totp', 'backup_code'] });
    const mfaToken = login.body.data.mfa_token as string;

    const badCode = await postJson(browser, `${base}/mfa/verify`, { mfa_token: mfaToken, code: '000000' });
    expect(badCode.status).toBe(400);
    expect(badCode.body.code).toBe('INVALID_MFA_CODE');
    const noEmail = await postJson(browser, `${base}/mfa/email/send?mfa_token=${mfaToken}`);
    expect(noEmail.status).toBe(400);
    const unknown = await postJson(browser, `${base}/mfa/verify`, {
      mfa_token: 'x'.repeat(43),
      code: '123456',
    });
    expect(unknown.status).toBe(400);

    const good = await postJson(browser, `${base}/mfa/verify`, {
      mfa_token: mfaToken,
      code: totpCode(secret, 1),
    });
    expect(good.status).toBe(200);
    expect(good.body.data.status).toBe('SIGNED_IN');
    const back = await browser.follow(good.body.data.redirect_to);
    expect(back.location).toMatch(/callback\?code=/);
    const tokens = await request.tokens(back.location);
    expect(decodeJwt(tokens.id_token as string).amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('refuses to sign in a user who must set up a factor first (403), before any code', async () => {
    const r = await realm({ mfa_required: true });
    const user = await createUser(r);
    const browser = new TestBrowser(t.origin);
    const page = await browser.follow((await authorizationRequest(r.config)).url);
    const uid = /\/interaction\/([^/?]+)$/.exec(page.url)?.[1] as string;
    const login = await postJson(browser, `/api/v1/auth/tenants/${r.tenant.slug}/login`, {
      email: user.email,
      password: PASSWORD,
      interaction: uid,
    });
    expect(login.status).toBe(403);
    expect(login.body.code).toBe('MFA_ENROLLMENT_REQUIRED');
  });
});

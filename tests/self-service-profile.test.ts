import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { applicationToken, createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { lastMailTo } from './helpers/mail.js';
import {
  authorizationRequest,
  CALLBACK,
  createSignInUser,
  PASSWORD,
  signInRealm,
} from './helpers/sign-in.js';
import { generousRateLimits, useTestApp } from './helpers/test-app.js';

// Issue 13: the self-service profile (`PATCH /api/v1/me`, `POST /api/v1/me/password`,
// `POST /api/v1/me/verify-email` and the confirmation page), with a user's own tokens from the
// authorization code flow.

const VERIFY_MAILS_PER_USER = 3;
const t = useTestApp(
  {
    rateLimits: generousRateLimits({
      verifyEmailPerUser: { max: VERIFY_MAILS_PER_USER, windowMs: 3_600_000 },
    }),
  },
  { live: true },
);
const NEW_PASSWORD = 'Another-Horse-Battery-10';
const MAX_ATTEMPTS = 3;
let tenant: Tenant;
let config: client.Configuration;

beforeAll(async () => {
  ({ tenant, config } = await signInRealm(t, {
    settings: {
      lockout: { max_failed_attempts: MAX_ATTEMPTS, lockout_minutes: 5 },
      password_policy: { history: 3 },
    },
  }));
});

const createUser = (fields: Record<string, unknown> = {}) =>
  createSignInUser(t, tenant, { first_name: 'Sam', last_name: 'Self', ...fields });

/** Signs in through the hosted page (authorization code + PKCE) in `browser`: a grant and its tokens. */
async function signIn(user: { email: string }, password = PASSWORD, browser = new TestBrowser(t.origin)) {
  const request = await authorizationRequest(config, { prompt: 'login' });
  const page = await browser.follow(request.url);
  const after = await browser.submitForm(page, { email: user.email, password });
  if (!after.location?.startsWith(CALLBACK)) return { signedIn: false as const, page: after };
  const tokens = await request.tokens(after.location);
  return {
    signedIn: true as const,
    browser,
    access: tokens.access_token,
    refresh: tokens.refresh_token as string,
  };
}

/** A silent authorization request (prompt=none) in `browser`: where it lands says whether its session lives. */
async function silentSignIn(browser: TestBrowser) {
  const request = await authorizationRequest(config, { scope: 'openid', prompt: 'none' });
  return (await browser.follow(request.url)).location ?? '';
}

async function signedIn(user: { email: string }, password = PASSWORD) {
  const result = await signIn(user, password);
  if (!result.signedIn) throw new Error(`sign-in failed:\n${result.page.body.slice(0, 300)}`);
  return result;
}

const me = (token: string) => t.get('/api/v1/me', { token });

async function auditOf(userId: string, action: string) {
  return t.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('resource_id', '=', userId)
    .where('action', '=', action)
    .orderBy('created_at', 'desc')
    .execute();
}

async function userRow(id: string) {
  return t.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe('PATCH /api/v1/me', () => {
  it('changes the user’s own names, phone, locale and time zone, answers the profile and audits it', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const response = await t.patch(
      '/api/v1/me',
      {
        first_name: 'Samantha',
        display_name: 'Sam S.',
        phone: '+32 2 555 01 01',
        locale: 'nl-BE',
        timezone: 'Europe/Brussels',
      },
      { token: access },
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({
      id: user.id,
      first_name: 'Samantha',
      last_name: 'Self',
      display_name: 'Sam S.',
      phone: '+32 2 555 01 01',
      locale: 'nl-BE',
      timezone: 'Europe/Brussels',
      email: user.email,
    });
    const read = await me(access);
    expect(read.body.data).toEqual(response.body.data);

    const [entry] = await auditOf(user.id, 'user.updated');
    expect(entry).toMatchObject({
      actor_type: 'user',
      actor_id: user.id,
      tenant_id: tenant.id,
      result: 'SUCCESS',
    });
    expect(entry?.before).toMatchObject({ first_name: 'Sam', locale: 'en', timezone: 'UTC' });
    expect(entry?.after).toMatchObject({ first_name: 'Samantha', locale: 'nl-BE', method: 'SELF_SERVICE' });

    // null resets locale and time zone, as in the users API.
    const reset = await t.patch('/api/v1/me', { locale: null, timezone: null }, { token: access });
    expect(reset.body.data).toMatchObject({ locale: 'en', timezone: 'UTC' });
  });

  it('refuses, naming it, every field a user may not change about themselves, and changes nothing', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const refused = {
      email: 'someone-else@acme.example',
      username: 'boss',
      status: 'ACTIVE',
      ou_id: null,
      custom_attributes: { clearance: 'top' },
      email_verified: true,
      roles: ['tenant_admin'],
      group_ids: [],
      password: NEW_PASSWORD,
    };
    for (const [field, value] of Object.entries(refused)) {
      const response = await t.patch(
        '/api/v1/me',
        { display_name: 'Changed', [field]: value },
        { token: access },
      );
      expect(response.status, field).toBe(422);
      expect(response.body.detail, field).toContainEqual(
        expect.objectContaining({ loc: ['body', field], type: 'extra_forbidden' }),
      );
    }
    const row = await userRow(user.id);
    expect(row).toMatchObject({
      email: user.email,
      display_name: null,
      username: null,
      email_verified: false,
    });
    expect(await auditOf(user.id, 'user.updated')).toHaveLength(0);
  });

  it('refuses an unknown time zone or locale (422) and an application’s token (403)', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const zone = await t.patch('/api/v1/me', { timezone: 'Mars/Olympus_Mons' }, { token: access });
    expect(zone.status).toBe(422);
    expect(zone.body.detail[0].loc).toEqual(['body', 'timezone']);

    const service = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'SERVICE',
      allowedScopes: ['users:read'],
    });
    const token = await applicationToken(
      t,
      { id: service.id, scope: 'TENANT', partnerId: tenant.partner_id, tenantId: tenant.id },
      ['users:read'],
    );
    for (const [method, url] of [
      ['PATCH', '/api/v1/me'],
      ['POST', '/api/v1/me/password'],
      ['POST', '/api/v1/me/verify-email'],
    ] as const) {
      const body =
        method === 'PATCH'
          ? { display_name: 'x' }
          : url.endsWith('password')
            ? {
                current_password: PASSWORD,
                new_password: NEW_PASSWORD,
              }
            : undefined;
      const response = await t.request({ method, url, token, body });
      expect(response.status, url).toBe(403);
      const anonymous = await t.request({ method, url, token: null, body });
      expect(anonymous.status, url).toBe(401);
    }
  });
});

describe('POST /api/v1/me/password', () => {
  it('changes the password and ends every other sign-in; the caller’s sign-in goes on', async () => {
    const user = await createUser();
    const first = await signedIn(user);
    const second = await signedIn(user);
    const firstGrant = decodeJwt(first.access).grant_id;
    expect(firstGrant).toBeTruthy();
    expect(decodeJwt(second.access).grant_id).not.toBe(firstGrant);

    const response = await t.post(
      '/api/v1/me/password',
      { current_password: PASSWORD, new_password: NEW_PASSWORD },
      { token: first.access },
    );
    expect(response.status).toBe(200);
    expect(response.body.data.password_changed_at).toBeTruthy();

    // The other sign-in: its refresh token is refused, its access token no longer works, and its
    // browser session is gone (a silent sign-in asks for the password).
    await expect(client.refreshTokenGrant(config, second.refresh)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await me(second.access)).status).toBe(401);
    expect(await silentSignIn(second.browser)).toContain('error=login_required');

    // The caller's sign-in: its access token and refresh token still work.
    expect((await me(first.access)).status).toBe(200);
    const refreshed = await client.refreshTokenGrant(config, first.refresh);
    expect((await me(refreshed.access_token)).body.data.id).toBe(user.id);
    expect(await silentSignIn(first.browser)).toMatch(/[?&]code=/);

    // The new password signs in, the old one does not.
    expect((await signIn(user, PASSWORD)).signedIn).toBe(false);
    expect((await signIn(user, NEW_PASSWORD)).signedIn).toBe(true);

    const [entry] = await auditOf(user.id, 'user.password_changed');
    expect(entry).toMatchObject({ actor_type: 'user', actor_id: user.id, result: 'SUCCESS' });
    expect(entry?.after).toMatchObject({ method: 'SELF_SERVICE', kept_grant: true });
    expect(JSON.stringify(entry)).not.toContain(NEW_PASSWORD);
  });

  it('refuses a wrong current password with INVALID_CURRENT_PASSWORD, counted toward the lockout', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const wrong = { current_password: 'Not-The-Password-1', new_password: NEW_PASSWORD };

    const first = await t.post('/api/v1/me/password', wrong, { token: access });
    expect(first.status).toBe(400);
    expect(first.body).toMatchObject({ code: 'INVALID_CURRENT_PASSWORD' });
    expect((await userRow(user.id)).failed_login_attempts).toBe(1);
    const [failure] = await auditOf(user.id, 'user.password_change_failed');
    expect(failure).toMatchObject({ result: 'FAILURE', actor_id: user.id });

    // The right current password starts the count again.
    const weak = await t.post(
      '/api/v1/me/password',
      { current_password: PASSWORD, new_password: 'short' },
      { token: access },
    );
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('PASSWORD_POLICY');
    expect((await userRow(user.id)).failed_login_attempts).toBe(0);

    // The guess reaching the tenant's threshold locks the account, which ends the token.
    const before = await userRow(user.id);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const response = await t.post('/api/v1/me/password', wrong, { token: access });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('INVALID_CURRENT_PASSWORD');
      if (attempt === MAX_ATTEMPTS) expect(response.body.detail).toContain('locked');
    }
    expect(await userRow(user.id)).toMatchObject({ status: 'LOCKED' });
    expect(await auditOf(user.id, 'user.locked')).toHaveLength(1);
    const after = await t.post(
      '/api/v1/me/password',
      { current_password: PASSWORD, new_password: NEW_PASSWORD },
      { token: access },
    );
    expect(after.status).toBe(401);
    expect((await userRow(user.id)).password_hash).toBe(before.password_hash);
    expect(await auditOf(user.id, 'user.password_changed')).toHaveLength(0);
  });

  it('applies the tenant’s password policy and history, and refuses the current password again', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const change = (current: string, next: string) =>
      t.post('/api/v1/me/password', { current_password: current, new_password: next }, { token: access });

    const same = await change(PASSWORD, PASSWORD);
    expect(same.status).toBe(400);
    expect(same.body).toMatchObject({ code: 'PASSWORD_POLICY' });

    expect((await change(PASSWORD, NEW_PASSWORD)).status).toBe(200);
    // history: 3, so the first password is still remembered.
    const back = await change(NEW_PASSWORD, PASSWORD);
    expect(back.status).toBe(400);
    expect(back.body.code).toBe('PASSWORD_POLICY');
    expect(back.body.detail).toContain('last 3');

    const missing = await t.post('/api/v1/me/password', { new_password: NEW_PASSWORD }, { token: access });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0].loc).toEqual(['body', 'current_password']);
  });
});

describe('POST /api/v1/me/verify-email', () => {
  async function requestLink(access: string, email: string) {
    const response = await t.post('/api/v1/me/verify-email', undefined, { token: access });
    expect(response.status).toBe(202);
    expect(response.body.data).toMatchObject({ email });
    const mail = await lastMailTo(t, email);
    expect(mail?.kind).toBe('email_verification');
    const match = /https?:\/\/\S+\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail?.text_body ?? '');
    if (!match) throw new Error(`no link in mail:\n${mail?.text_body}`);
    const url = new URL(match[0]);
    return {
      url: url.pathname + url.search,
      href: `${t.origin}${url.pathname}${url.search}`,
      token: match[1] as string,
    };
  }

  it('mails a link whose page confirms the address once; then the address is verified', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    expect((await me(access)).body.data.email_verified).toBe(false);
    const link = await requestLink(access, user.email);

    // Opening the link shows the address and a button; it confirms nothing yet.
    const browser = new TestBrowser(t.origin);
    const page = await browser.follow(link.href);
    expect(page.status).toBe(200);
    expect(page.body).toContain(user.email);
    expect((await userRow(user.id)).email_verified).toBe(false);

    const confirmed = await browser.submitForm(page, {});
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toContain('Your email address is confirmed');
    expect((await me(access)).body.data.email_verified).toBe(true);
    const [entry] = await auditOf(user.id, 'user.email_verified');
    expect(entry).toMatchObject({ actor_type: 'user', actor_id: user.id, result: 'SUCCESS' });
    expect(await auditOf(user.id, 'user.email_verification_requested')).toHaveLength(1);

    // Single use: the page and the JSON POST refuse the used link.
    const again = await browser.follow(link.href);
    expect(again.status).toBe(400);
    const json = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/verify-email`,
      body: { token: link.token },
    });
    expect(json.status).toBe(400);
    expect(json.body.code).toBe('INVALID_TOKEN');

    // Verified: no further mail.
    const verified = await t.post('/api/v1/me/verify-email', undefined, { token: access });
    expect(verified.status).toBe(409);
    expect(verified.body.code).toBe('EMAIL_ALREADY_VERIFIED');
  });

  it('confirms through JSON; a newer link voids the older one; an expired link is refused', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const older = await requestLink(access, user.email);
    const newer = await requestLink(access, user.email);
    const confirm = (token: string) =>
      t.request({
        method: 'POST',
        url: `/api/v1/auth/tenants/${tenant.slug}/verify-email`,
        body: { token },
      });
    expect((await confirm(older.token)).body.code).toBe('INVALID_TOKEN');

    // The link's time is over (the clock of the database decides).
    await t.database.db
      .updateTable('user_action_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.id)
      .where('used_at', 'is', null)
      .execute();
    const expired = await confirm(newer.token);
    expect(expired.status).toBe(400);
    expect(expired.body.code).toBe('INVALID_TOKEN');

    const fresh = await requestLink(access, user.email);
    const done = await confirm(fresh.token);
    expect(done.status).toBe(200);
    expect(done.body.data).toEqual({ user_id: user.id, email: user.email, email_verified: true });
    expect((await userRow(user.id)).email_verified).toBe(true);
  });

  it('never lets a verification link set a password, nor a tenant’s link work at another tenant', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const link = await requestLink(access, user.email);
    const reset = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/reset-password`,
      body: { token: link.token, new_password: NEW_PASSWORD },
    });
    expect(reset.status).toBe(400);
    expect(reset.body.code).toBe('INVALID_TOKEN');
    const resetPage = await t.get(`/api/v1/auth/tenants/${tenant.slug}/reset-password?token=${link.token}`, {
      token: null,
    });
    expect(resetPage.status).toBe(400);

    const other = await createTenant(t);
    const foreign = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${other.slug}/verify-email`,
      body: { token: link.token },
    });
    expect(foreign.status).toBe(400);
    expect((await userRow(user.id)).email_verified).toBe(false);
    expect((await signIn(user, NEW_PASSWORD)).signedIn).toBe(false);
  });

  it('voids an open link when an administrator changes the address', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    const link = await requestLink(access, user.email);
    const changed = await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, {
      email: `renamed-${user.email}`,
    });
    expect(changed.status).toBe(200);
    const response = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/verify-email`,
      body: { token: link.token },
    });
    expect(response.status).toBe(400);
    expect((await userRow(user.id)).email_verified).toBe(false);
  });

  it('limits verification mails per user (429 with Retry-After)', async () => {
    const user = await createUser();
    const { access } = await signedIn(user);
    for (let i = 0; i < VERIFY_MAILS_PER_USER; i++) await requestLink(access, user.email);
    const limited = await t.post('/api/v1/me/verify-email', undefined, { token: access });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const mails = await t.database.db
      .selectFrom('email_outbox')
      .select('id')
      .where('recipient', '=', user.email)
      .where('kind', '=', 'email_verification')
      .execute();
    expect(mails).toHaveLength(VERIFY_MAILS_PER_USER);
  });
});

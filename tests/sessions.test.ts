import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { adminUserToken, createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import {
  authorizationRequest,
  createSignInUser,
  PASSWORD,
  type SignInRealm,
  signInRealm,
} from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 13: the Sessions API (admin) and a user's own sessions and authorized apps (self-service).
// Users sign in through the real authorization code flow on the hosted page.

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let otherTenant: Tenant;
let web: SignInRealm['web'];
let config: client.Configuration;

beforeAll(async () => {
  ({ tenant, web, config } = await signInRealm(t));
  otherTenant = await createTenant(t);
});

const createUser = () => createSignInUser(t, tenant);

/** Runs the authorization code flow with PKCE in `browser` up to the callback URL. */
async function authorize(browser: TestBrowser, email: string, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(config, extra);
  const page = await browser.follow(request.url);
  const callback = page.location ?? (await browser.submitForm(page, { email, password: PASSWORD })).location;
  return { callback: callback as string, tokens: () => request.tokens(callback) };
}

/** Signs `user` in with a new browser: the browser, its tokens (access and refresh). */
async function signIn(user: { email: string }, browser = new TestBrowser(t.origin)) {
  const flow = await authorize(browser, user.email);
  const tokens = await flow.tokens();
  expect(tokens.refresh_token).toBeTruthy();
  return { browser, accessToken: tokens.access_token, refreshToken: tokens.refresh_token as string };
}

const sessionsOf = async (userId: string, token?: string) => {
  const response = await t.get(`/api/v1/admin/sessions/?user_id=${userId}`, token ? { token } : {});
  expect(response.status).toBe(200);
  return response.body.data as Record<string, unknown>[];
};

/** The session ended everywhere: refresh token refused, access token 401, no silent sign-in. */
async function expectEnded(signedIn: Awaited<ReturnType<typeof signIn>>) {
  await expect(client.refreshTokenGrant(config, signedIn.refreshToken)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  const me = await t.get('/api/v1/me', { token: signedIn.accessToken });
  expect(me.status).toBe(401);
  const silent = await authorize(signedIn.browser, '', { prompt: 'none' });
  expect(silent.callback).toContain('error=login_required');
}

async function auditOf(resourceId: string) {
  return t.database.db
    .selectFrom('audit_events')
    .select(['action', 'resource_type', 'tenant_id', 'partner_id', 'result'])
    .where('resource_id', '=', resourceId)
    .execute();
}

describe('admin Sessions API', () => {
  it('lists a signed-in session with its user, tenant, sign-in facts and applications, never its cookie', async () => {
    const user = await createUser();
    const { browser } = await signIn(user);
    const [session, ...more] = await sessionsOf(user.id);
    expect(more).toEqual([]);
    expect(session).toMatchObject({
      user_id: user.id,
      tenant_id: tenant.id,
      amr: ['pwd'],
      ip_address: '127.0.0.1',
      applications: [{ client_id: web.id, name: expect.any(String) }],
    });
    expect(session?.id).toMatch(/^ses_[0-9a-z]{20}$/);
    expect(typeof session?.user_agent).toBe('string');
    for (const field of ['created_at', 'last_active_at', 'expires_at'])
      expect(Date.parse(session?.[field] as string)).not.toBeNaN();
    expect(Date.parse(session?.expires_at as string)).toBeGreaterThan(Date.now());

    const read = await t.get(`/api/v1/admin/sessions/${session?.id}`);
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual(session);

    // The session cookie is a bearer secret: no answer carries it, nor oidc-provider's uid.
    const cookies = [...browser.cookies.values()].filter((value) => value.length >= 16);
    expect(cookies.length).toBeGreaterThan(0);
    const row = await t.database.db
      .selectFrom('user_sessions')
      .select('session_uid')
      .where('id', '=', session?.id as string)
      .executeTakeFirstOrThrow();
    const listed = await t.get(`/api/v1/admin/sessions/?tenant_id=${tenant.id}&per_page=100`);
    for (const text of [JSON.stringify(listed.body), JSON.stringify(read.body)]) {
      for (const secret of [...cookies, row.session_uid]) expect(text).not.toContain(secret);
    }
    expect(listed.body.pagination).toMatchObject({ page: 1, per_page: 100 });
    expect(listed.body.data.map((one: { id: string }) => one.id)).toContain(session?.id);
  });

  it('revoking a session ends its refresh token, its access tokens and the browser’s session at once, audited', async () => {
    const user = await createUser();
    const signedIn = await signIn(user);
    const other = await signIn(user);
    expect((await t.get('/api/v1/me', { token: signedIn.accessToken })).status).toBe(200);
    const sessions = await sessionsOf(user.id);
    expect(sessions).toHaveLength(2);
    // Which session is whose: the user's own list marks the one a token came from.
    const mine = await t.get('/api/v1/me/sessions', { token: signedIn.accessToken });
    const first = mine.body.data.find((one: { current: boolean }) => one.current) as { id: string };
    const second = sessions.find((one) => one.id !== first.id) as { id: string };

    const revoked = await t.delete(`/api/v1/admin/sessions/${first.id}`);
    expect(revoked.status).toBe(204);
    await expectEnded(signedIn);
    // The other session of the same user lives on.
    expect((await t.get('/api/v1/me', { token: other.accessToken })).status).toBe(200);
    await expect(client.refreshTokenGrant(config, other.refreshToken)).resolves.toHaveProperty(
      'access_token',
    );
    expect((await sessionsOf(user.id)).map((one) => one.id)).toEqual([second.id]);

    expect((await t.get(`/api/v1/admin/sessions/${first.id}`)).status).toBe(404);
    expect((await t.delete(`/api/v1/admin/sessions/${first.id}`)).status).toBe(404);
    expect(await auditOf(first.id)).toEqual([
      {
        action: 'session.revoked',
        resource_type: 'session',
        tenant_id: tenant.id,
        partner_id: tenant.partner_id,
        result: 'SUCCESS',
      },
    ]);
  });

  it('answers 404 for a session of a tenant the caller may not see, and lists none of it', async () => {
    const user = await createUser();
    const signedIn = await signIn(user);
    const [session] = await sessionsOf(user.id);
    const id = (session as { id: string }).id;
    const foreign = await adminUserToken(t, { role: 'tenant_admin', tenant: otherTenant });
    for (const response of [
      await t.get(`/api/v1/admin/sessions/${id}`, { token: foreign.token }),
      await t.delete(`/api/v1/admin/sessions/${id}`, { token: foreign.token }),
      await t.post('/api/v1/admin/sessions/revoke-all', { user_id: user.id }, { token: foreign.token }),
      await t.post('/api/v1/admin/sessions/revoke-all', { tenant_id: tenant.id }, { token: foreign.token }),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
    const listed = await t.get(`/api/v1/admin/sessions/?tenant_id=${tenant.id}`, { token: foreign.token });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);
    expect(JSON.stringify(await t.get('/api/v1/admin/sessions/', { token: foreign.token }))).not.toContain(
      id,
    );
    // Malformed and unknown ids look the same.
    expect((await t.get('/api/v1/admin/sessions/ses_00000000000000000000')).status).toBe(404);
    expect((await t.get('/api/v1/admin/sessions/not-a-session')).status).toBe(404);

    // The tenant's own admin and its partner's admin see it; the session is untouched.
    const own = await adminUserToken(t, { role: 'tenant_admin', tenant });
    const partner = await adminUserToken(t, {
      role: 'partner_admin',
      tenant: otherTenant,
      partnerId: tenant.partner_id,
    });
    expect((await t.get(`/api/v1/admin/sessions/${id}`, { token: own.token })).status).toBe(200);
    expect((await sessionsOf(user.id, partner.token)).map((one) => one.id)).toEqual([id]);
    expect((await t.get('/api/v1/me', { token: signedIn.accessToken })).status).toBe(200);
  });

  it('revoke-all ends every session of a user, or of every user of a tenant; it needs one of them', async () => {
    const tenantB = await createTenant(t);
    const alice = await createUser();
    const bob = await createUser();
    const alice1 = await signIn(alice);
    const alice2 = await signIn(alice);
    const bob1 = await signIn(bob);

    const missing = await t.post('/api/v1/admin/sessions/revoke-all', {});
    expect(missing.status).toBe(422);
    const mismatch = await t.post('/api/v1/admin/sessions/revoke-all', {
      user_id: alice.id,
      tenant_id: tenantB.id,
    });
    expect(mismatch.status).toBe(404);
    const unknown = await t.post('/api/v1/admin/sessions/revoke-all', {
      user_id: 'usr_00000000000000000000',
    });
    expect(unknown.status).toBe(404);

    const byUser = await t.post('/api/v1/admin/sessions/revoke-all', { user_id: alice.id });
    expect(byUser.status).toBe(200);
    expect(byUser.body.data).toEqual({ sessions_revoked: 2 });
    await expectEnded(alice1);
    await expectEnded(alice2);
    expect((await t.get('/api/v1/me', { token: bob1.accessToken })).status).toBe(200);

    const byTenant = await t.post('/api/v1/admin/sessions/revoke-all', { tenant_id: tenant.id });
    expect(byTenant.status).toBe(200);
    expect(byTenant.body.data.sessions_revoked).toBeGreaterThanOrEqual(1);
    await expectEnded(bob1);
    expect(await sessionsOf(bob.id)).toEqual([]);
    const again = await t.post('/api/v1/admin/sessions/revoke-all', { tenant_id: tenant.id });
    expect(again.body.data).toEqual({ sessions_revoked: 0 });
  });

  it('a tenant_admin cannot end the session of another tenant_admin (403), a super_admin can', async () => {
    const user = await createUser();
    await t.database.db
      .insertInto('admin_role_assignments')
      .values({
        user_tenant_id: tenant.id,
        id: `rol_${'1'.repeat(10)}${String(Date.now()).slice(-10)}`,
        user_id: user.id,
        role: 'TENANT_ADMIN',
        partner_id: null,
        tenant_id: tenant.id,
        expires_at: null,
        created_by: null,
      })
      .execute();
    const signedIn = await signIn(user);
    const [session] = await sessionsOf(user.id);
    const peer = await adminUserToken(t, { role: 'tenant_admin', tenant });
    const refused = await t.delete(`/api/v1/admin/sessions/${(session as { id: string }).id}`, {
      token: peer.token,
    });
    expect(refused.status).toBe(403);
    const refusedAll = await t.post(
      '/api/v1/admin/sessions/revoke-all',
      { user_id: user.id },
      { token: peer.token },
    );
    expect(refusedAll.status).toBe(403);
    expect((await t.get('/api/v1/me', { token: signedIn.accessToken })).status).toBe(200);
    expect((await t.delete(`/api/v1/admin/sessions/${(session as { id: string }).id}`)).status).toBe(204);
    await expectEnded(signedIn);
  });
});

describe('self-service: my sessions and authorized apps', () => {
  it('lists the user’s own sessions, marks the current one, and ends one by id (another user’s is a 404)', async () => {
    const user = await createUser();
    const stranger = await createUser();
    const here = await signIn(user);
    const there = await signIn(user);
    const strangers = await signIn(stranger);

    const mine = await t.get('/api/v1/me/sessions', { token: here.accessToken });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toHaveLength(2);
    expect(mine.body.data.every((one: { user_id: string }) => one.user_id === user.id)).toBe(true);
    const current = mine.body.data.filter((one: { current: boolean }) => one.current);
    expect(current).toHaveLength(1);
    const otherSession = mine.body.data.find((one: { current: boolean }) => !one.current);

    const [strangerSession] = await sessionsOf(stranger.id);
    const notMine = await t.delete(`/api/v1/me/sessions/${(strangerSession as { id: string }).id}`, {
      token: here.accessToken,
    });
    expect(notMine.status).toBe(404);
    expect(
      (await t.delete('/api/v1/me/sessions/ses_00000000000000000000', { token: here.accessToken })).status,
    ).toBe(404);
    expect((await t.get('/api/v1/me', { token: strangers.accessToken })).status).toBe(200);

    const ended = await t.delete(`/api/v1/me/sessions/${otherSession.id}`, { token: here.accessToken });
    expect(ended.status).toBe(204);
    await expectEnded(there);
    expect((await t.get('/api/v1/me', { token: here.accessToken })).status).toBe(200);
    expect(await auditOf(otherSession.id)).toMatchObject([
      { action: 'session.revoked', resource_type: 'session' },
    ]);
  });

  it('lists the applications the user authorized and withdraws one: its grants and refresh tokens end', async () => {
    const user = await createUser();
    const first = await signIn(user);
    const second = await signIn(user);
    const apps = await t.get('/api/v1/me/authorized-apps', { token: first.accessToken });
    expect(apps.status).toBe(200);
    expect(apps.body.data).toEqual([
      {
        client_id: web.id,
        name: expect.any(String),
        scopes: ['email', 'openid', 'profile'],
        first_authorized_at: expect.any(String),
        last_authorized_at: expect.any(String),
      },
    ]);
    const app = apps.body.data[0];
    expect(Date.parse(app.first_authorized_at)).toBeLessThanOrEqual(Date.parse(app.last_authorized_at));

    const withdrawn = await t.delete(`/api/v1/me/authorized-apps/${web.id}`, { token: first.accessToken });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.data).toEqual({ client_id: web.id, grants_revoked: 2 });
    for (const signedIn of [first, second]) {
      await expect(client.refreshTokenGrant(config, signedIn.refreshToken)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      expect((await t.get('/api/v1/me', { token: signedIn.accessToken })).status).toBe(401);
    }
    const audit = await auditOf(web.id);
    expect(audit.filter((entry) => entry.action === 'authorized_app.revoked')).toEqual([
      {
        action: 'authorized_app.revoked',
        resource_type: 'application',
        tenant_id: tenant.id,
        partner_id: tenant.partner_id,
        result: 'SUCCESS',
      },
    ]);

    // The browser's session lives on: signing in again authorizes the application anew.
    const again = await signIn(user, first.browser);
    const after = await t.get('/api/v1/me/authorized-apps', { token: again.accessToken });
    expect(after.body.data.map((one: { client_id: string }) => one.client_id)).toEqual([web.id]);
    const gone = await t.delete('/api/v1/me/authorized-apps/app_00000000000000000000', {
      token: again.accessToken,
    });
    expect(gone.status).toBe(404);
  });

  it('refuses an application’s token (403)', async () => {
    const service = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'SERVICE',
      allowedScopes: ['users:read'],
    });
    const conf = await client.discovery(
      new URL(`${t.origin}/api/v1/auth/tenants/${tenant.slug}`),
      service.id,
      undefined,
      client.ClientSecretBasic(service.secret),
      { execute: [client.allowInsecureRequests] },
    );
    const { access_token: token } = await client.clientCredentialsGrant(conf, { scope: 'users:read' });
    for (const url of ['/api/v1/me/sessions', '/api/v1/me/authorized-apps']) {
      expect((await t.get(url, { token })).status).toBe(403);
    }
  });
});

import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let otherTenant: Tenant;
let issuer: string;
let web: Awaited<ReturnType<typeof insertApplication>>;
let service: Awaited<ReturnType<typeof insertApplication>>;
let config: client.Configuration;
const CALLBACK = 'http://127.0.0.1:9/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:9/signed-out';
const PASSWORD = 'Correct-Horse-Battery-9';
const SCOPE = 'openid profile email groups offline_access admin:read';

beforeAll(async () => {
  tenant = await createTenant(t, { branding: { display_name: 'Acme Sign-in', primary_color: '#0055aa' } });
  otherTenant = await createTenant(t);
  issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
  web = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type: 'WEB',
    allowedScopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'admin:read', 'admin:write'],
    redirectUris: [CALLBACK],
    postLogoutRedirectUris: [AFTER_LOGOUT],
  });
  service = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type: 'SERVICE',
    allowedScopes: ['admin:read', 'files:read'],
  });
  config = await client.discovery(new URL(issuer), web.id, undefined, client.ClientSecretBasic(web.secret), {
    execute: [client.allowInsecureRequests],
  });
});

let n = 0;
async function createUser(fields: Record<string, unknown> = {}) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `signin-${++n}@acme.example`,
    password: PASSWORD,
    first_name: 'Sam',
    last_name: 'Signin',
    send_welcome_email: false,
    ...fields,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.data as { id: string; email: string };
}

/** Runs the authorization code flow with PKCE in a TestBrowser up to the callback URL. */
async function signIn(
  browser: TestBrowser,
  credentials: { email: string; password: string },
  extra: Record<string, string> = {},
  conf = config,
) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: CALLBACK,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const loginPage = await browser.follow(url.href);
  if (loginPage.location) return { loginPage, callback: loginPage.location, verifier, state, nonce };
  const after = await browser.submitForm(loginPage, credentials);
  return { loginPage, after, callback: after.location, verifier, state, nonce };
}

describe('discovery', () => {
  it('lists every endpoint of the tenant provider under its issuer', async () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.authorization_endpoint).toBe(`${issuer}/oauth/authorize`);
    expect(metadata.token_endpoint).toBe(`${issuer}/oauth/token`);
    expect(metadata.userinfo_endpoint).toBe(`${issuer}/oauth/userinfo`);
    expect(metadata.introspection_endpoint).toBe(`${issuer}/oauth/introspect`);
    expect(metadata.revocation_endpoint).toBe(`${issuer}/oauth/revoke`);
    expect(metadata.end_session_endpoint).toBe(`${issuer}/oauth/logout`);
    expect(metadata.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining([
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ]),
    );
    const missing = await fetch(
      `${t.origin}/api/v1/auth/tenants/no-such-tenant/.well-known/openid-configuration`,
    );
    expect(missing.status).toBe(404);
  });
});

describe('authorization code with PKCE', () => {
  it('signs a user in on the hosted page and issues RFC 9068 access tokens, ID token, userinfo', async () => {
    const group = (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name: `Signers ${n}` })).body.data;
    const user = await createUser({ group_ids: [group.id] });
    await t.database.db
      .insertInto('admin_role_assignments')
      .values({
        user_tenant_id: tenant.id,
        id: newId('roleAssignment'),
        user_id: user.id,
        role: 'TENANT_ADMIN',
        partner_id: null,
        tenant_id: tenant.id,
        expires_at: null,
        created_by: null,
      })
      .execute();
    const browser = new TestBrowser(t.origin);
    const flow = await signIn(browser, { email: user.email, password: PASSWORD });
    expect(flow.loginPage.status).toBe(200);
    expect(flow.loginPage.body).toContain('Acme Sign-in');
    expect(flow.loginPage.body).toContain('name="csrf"');
    expect(flow.callback).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);

    const tokens = await client.authorizationCodeGrant(config, new URL(flow.callback as string), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({
      iss: issuer,
      sub: user.id,
      aud: web.id,
      client_id: web.id,
      tenant_id: tenant.id,
      partner_id: tenant.partner_id,
      role: 'tenant_admin',
    });
    expect(String(access.scope).split(' ')).toEqual(
      expect.arrayContaining(['openid', 'email', 'admin:read']),
    );
    expect((access.exp as number) - (access.iat as number)).toBe(3600);

    // RFC 9068 validation as a resource server does it.
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true }),
    );
    const validated = await oauth.validateJwtAccessToken(
      as,
      new Request('http://127.0.0.1:9/api', { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      web.id,
      { [oauth.allowInsecureRequests]: true },
    );
    expect(validated.sub).toBe(user.id);

    const id = tokens.claims();
    expect(id).toMatchObject({ sub: user.id, email: user.email, name: 'Sam Signin', groups: [group.id] });
    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, email: user.email, given_name: 'Sam', groups: [group.id] });
    expect(tokens.refresh_token).toBeTruthy();

    // The access token works against the management API with exactly the user's admin rights.
    const own = await t.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: tokens.access_token,
    });
    expect(own.status).toBe(200);
    expect(
      (
        await t.request({
          method: 'GET',
          url: `/api/v1/admin/tenants/${otherTenant.id}`,
          token: tokens.access_token,
        })
      ).status,
    ).toBe(404);
    expect(
      (await t.request({ method: 'GET', url: '/api/v1/admin/partners/', token: tokens.access_token })).status,
    ).toBe(403);

    const login = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', user.id)
      .where('action', '=', 'user.login')
      .execute();
    expect(login).toHaveLength(1);
    await t.app.scaikey.audit.flush();
    const issued = await t.database.db
      .selectFrom('audit_events')
      .select(['actor_id', 'after'])
      .where('action', '=', 'token.issued')
      .where('resource_id', '=', web.id)
      .execute();
    expect(issued).toContainEqual({ actor_id: user.id, after: { grant_type: 'authorization_code' } });
  });

  it('rotates refresh tokens on every use and revokes the family when a rotated one comes back', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    const flow = await signIn(browser, { email: user.email, password: PASSWORD });
    const first = await client.authorizationCodeGrant(config, new URL(flow.callback as string), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const second = await client.refreshTokenGrant(config, first.refresh_token as string);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(second.access_token).sub).toBe(user.id);
    await expect(client.refreshTokenGrant(config, first.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Reuse detected: the whole family, the newest refresh token included, is gone.
    await expect(client.refreshTokenGrant(config, second.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('introspects, revokes and logs out', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    const flow = await signIn(browser, { email: user.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, new URL(flow.callback as string), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const active = await client.tokenIntrospection(config, tokens.access_token);
    expect(active).toMatchObject({ active: true, sub: user.id, client_id: web.id });
    const refresh = await client.tokenIntrospection(config, tokens.refresh_token as string);
    expect(refresh.active).toBe(true);

    await client.tokenRevocation(config, tokens.access_token);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    const info = await fetch(`${issuer}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.status).toBe(401);

    // RP-initiated logout ends the session: prompt=none afterwards has no session.
    const logoutUrl = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: AFTER_LOGOUT,
    });
    const confirm = await browser.follow(logoutUrl.href);
    expect(confirm.status).toBe(200);
    const done = await browser.submitLogout(confirm);
    expect(done.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/signed-out/);
    const silent = await signIn(browser, { email: user.email, password: PASSWORD }, { prompt: 'none' });
    expect(silent.callback).toContain('error=login_required');
  });

  it('signs in silently with prompt=none while a session exists, and prompt=login asks again', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    await signIn(browser, { email: user.email, password: PASSWORD });
    const silent = await signIn(browser, { email: user.email, password: PASSWORD }, { prompt: 'none' });
    expect(silent.callback).toMatch(/code=/);
    const forced = await signIn(
      browser,
      { email: user.email, password: PASSWORD },
      { prompt: 'login', login_hint: user.email },
    );
    expect(forced.loginPage.status).toBe(200);
    expect(forced.loginPage.body).toContain(`value="${user.email}"`);
    expect(forced.callback).toMatch(/code=/);
  });
});

describe('refusals', () => {
  it('refuses a wrong redirect_uri without redirecting', async () => {
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: 'http://127.0.0.1:9/evil',
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const response = await new TestBrowser(t.origin).follow(url.href);
    expect(response.status).toBe(400);
    expect(response.location).toBeNull();
    expect(response.body).toContain('redirect_uri');
  });

  it('refuses a wrong PKCE verifier and a reused code with invalid_grant', async () => {
    const user = await createUser();
    const flow = await signIn(new TestBrowser(t.origin), { email: user.email, password: PASSWORD });
    const callback = new URL(flow.callback as string);
    await expect(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const flow2 = await signIn(new TestBrowser(t.origin), { email: user.email, password: PASSWORD });
    const callback2 = new URL(flow2.callback as string);
    const checks = {
      pkceCodeVerifier: flow2.verifier,
      expectedState: flow2.state,
      expectedNonce: flow2.nonce,
    };
    await client.authorizationCodeGrant(config, callback2, checks);
    await expect(client.authorizationCodeGrant(config, callback2, checks)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('shows a clear message for a wrong password, and locks the account at the tenant threshold', async () => {
    const lockTenant = await createTenant(t, {
      settings: { lockout: { max_failed_attempts: 3, lockout_minutes: 5 } },
    });
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: lockTenant.partner_id,
      tenantId: lockTenant.id,
      type: 'WEB',
      allowedScopes: ['openid'],
      redirectUris: [CALLBACK],
    });
    const conf = await client.discovery(
      new URL(`${t.origin}/api/v1/auth/tenants/${lockTenant.slug}`),
      app.id,
      undefined,
      client.ClientSecretBasic(app.secret),
      { execute: [client.allowInsecureRequests] },
    );
    const user = (
      await t.post(`/api/v1/tenants/${lockTenant.id}/users`, {
        email: 'lock@acme.example',
        password: PASSWORD,
        send_welcome_email: false,
      })
    ).body.data;
    // A session from before the lock: its access token works until the account locks.
    const before = await signIn(
      new TestBrowser(t.origin),
      { email: user.email, password: PASSWORD },
      { scope: 'openid' },
      conf,
    );
    const tokens = await client.authorizationCodeGrant(conf, new URL(before.callback as string), {
      pkceCodeVerifier: before.verifier,
      expectedState: before.state,
      expectedNonce: before.nonce,
    });
    // The management API verifies it through the cached verifier: a user without an admin role is
    // authenticated but refused (403) while active, and unauthenticated (401) once locked.
    const managementRead = () =>
      fetch(`${t.origin}/api/v1/admin/tenants/`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      }).then(async (response) => ({ status: response.status, body: await response.text() }));
    expect((await managementRead()).status).toBe(403);

    const browser = new TestBrowser(t.origin);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const flow = await signIn(
        browser,
        { email: user.email, password: 'wrong-password-123' },
        { scope: 'openid' },
        conf,
      );
      expect(flow.after?.status).toBe(401);
      expect(flow.after?.body).toContain('not correct');
    }
    const locked = await signIn(
      browser,
      { email: user.email, password: PASSWORD },
      { scope: 'openid' },
      conf,
    );
    // While locked no password is checked: the right one is answered like a wrong one (issue 10).
    expect(locked.after?.status).toBe(401);
    expect(locked.after?.body).toContain('not correct');
    const row = await t.database.db
      .selectFrom('users')
      .select(['status', 'locked_until'])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('LOCKED');
    // The lock ends the earlier token at once (the verifier's cache is invalidated), not after 60 s.
    expect((await managementRead()).status).toBe(401);
    // When the lock expires, the right password signs in and unlocks.
    await t.database.db
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where('id', '=', user.id)
      .execute();
    const after = await signIn(browser, { email: user.email, password: PASSWORD }, { scope: 'openid' }, conf);
    expect(after.callback).toMatch(/code=/);
  });

  it('refuses disabled and pending users with a clear message', async () => {
    const disabled = await createUser();
    await t.put(`/api/v1/tenants/${tenant.id}/users/${disabled.id}/status`, { status: 'DISABLED' });
    const flow = await signIn(new TestBrowser(t.origin), { email: disabled.email, password: PASSWORD });
    expect(flow.after?.status).toBe(401);
    expect(flow.after?.body).toContain('disabled');
    await t.database.db
      .updateTable('users')
      .set({ status: 'PENDING_APPROVAL' })
      .where('id', '=', disabled.id)
      .execute();
    const pending = await signIn(new TestBrowser(t.origin), { email: disabled.email, password: PASSWORD });
    expect(pending.after?.body).toContain('approval');
  });

  it('refuses a form without its CSRF token', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await browser.follow(url.href);
    const forged = await browser.submitForm(
      { ...page, body: page.body.replace(/name="csrf" value="[^"]+"/, 'name="csrf" value="forged"') },
      { email: user.email, password: PASSWORD },
    );
    expect(forged.status).toBe(403);
  });

  it('only signs in assigned users to an application with assignment_required', async () => {
    const restricted = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'WEB',
      allowedScopes: ['openid'],
      redirectUris: [CALLBACK],
      assignmentRequired: true,
    });
    const conf = await client.discovery(
      new URL(issuer),
      restricted.id,
      undefined,
      client.ClientSecretBasic(restricted.secret),
      { execute: [client.allowInsecureRequests] },
    );
    const outsider = await createUser();
    const refused = await signIn(
      new TestBrowser(t.origin),
      { email: outsider.email, password: PASSWORD },
      { scope: 'openid' },
      conf,
    );
    expect(refused.callback).toContain('error=access_denied');
    const insider = await createUser();
    await t.database.db
      .insertInto('application_assignments')
      .values({
        tenant_id: tenant.id,
        application_id: restricted.id,
        principal_type: 'USER',
        principal_id: insider.id,
      })
      .execute();
    const allowed = await signIn(
      new TestBrowser(t.origin),
      { email: insider.email, password: PASSWORD },
      { scope: 'openid' },
      conf,
    );
    expect(allowed.callback).toMatch(/code=/);
  });

  it('asks for a new password when require_password_change is set, then continues', async () => {
    const user = await createUser({ require_password_change: true });
    const browser = new TestBrowser(t.origin);
    const flow = await signIn(browser, { email: user.email, password: PASSWORD });
    expect(flow.after?.status).toBe(200);
    expect(flow.after?.body).toContain('new password');
    const weak = await browser.submitForm(flow.after as { body: string; url: string }, {
      new_password: 'short',
      confirm_password: 'short',
    });
    expect(weak.status).toBe(400);
    const done = await browser.submitForm(weak, {
      new_password: 'A-Brand-New-One-77',
      confirm_password: 'A-Brand-New-One-77',
    });
    expect(done.location).toMatch(/code=/);
    const row = await t.database.db
      .selectFrom('users')
      .select('require_password_change')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.require_password_change).toBe(false);
  });

  it('ends sessions when an admin changes the status with terminate_sessions', async () => {
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    await signIn(browser, { email: user.email, password: PASSWORD });
    await t.put(`/api/v1/tenants/${tenant.id}/users/${user.id}/status`, {
      status: 'DISABLED',
      terminate_sessions: true,
    });
    await t.put(`/api/v1/tenants/${tenant.id}/users/${user.id}/status`, { status: 'ACTIVE' });
    const silent = await signIn(browser, { email: user.email, password: PASSWORD }, { prompt: 'none' });
    expect(silent.callback).toContain('error=login_required');
  });

  /** Signs in with offline_access: a session in `browser` and a refresh token. */
  async function sessionWithRefreshToken(browser: TestBrowser, user: { email: string }) {
    const flow = await signIn(browser, { email: user.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, new URL(flow.callback as string), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    expect(tokens.refresh_token).toBeTruthy();
    return tokens.refresh_token as string;
  }

  async function expectSessionsEnded(browser: TestBrowser, user: { email: string }, refreshToken: string) {
    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const silent = await signIn(browser, { email: user.email, password: PASSWORD }, { prompt: 'none' });
    expect(silent.callback).toContain('error=login_required');
  }

  it('ends sessions and refresh tokens on every password reset: DIRECT, EMAIL and the link (issue 10, item 8)', async () => {
    const NEW_PASSWORD = 'Another-Horse-Battery-10';
    for (const method of ['DIRECT', 'EMAIL'] as const) {
      const user = await createUser();
      const browser = new TestBrowser(t.origin);
      const refreshToken = await sessionWithRefreshToken(browser, user);
      const reset = await t.post(
        `/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`,
        method === 'DIRECT' ? { method, new_password: NEW_PASSWORD } : { method },
      );
      expect(reset.status).toBe(200);
      await expectSessionsEnded(browser, user, refreshToken);
    }

    // The link itself: a session made after the mail was sent ends when the link sets the password.
    const user = await createUser();
    await t.post(`/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`, { method: 'EMAIL' });
    const mail = await lastMailTo(t, user.email);
    const link = linkIn(mail?.text_body ?? '');
    const browser = new TestBrowser(t.origin);
    const refreshToken = await sessionWithRefreshToken(browser, user);
    const used = await t.request({
      method: 'POST',
      url: `/api/v1/auth/tenants/${tenant.slug}/reset-password`,
      body: { token: link.token, new_password: NEW_PASSWORD },
    });
    expect(used.status).toBe(200);
    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const silent = await signIn(browser, { email: user.email, password: NEW_PASSWORD }, { prompt: 'none' });
    expect(silent.callback).toContain('error=login_required');
  });
});

describe('machine grants at the tenant token endpoint', () => {
  it('issues client_credentials tokens to tenant applications with their tenant', async () => {
    const conf = await client.discovery(
      new URL(issuer),
      service.id,
      undefined,
      client.ClientSecretBasic(service.secret),
      { execute: [client.allowInsecureRequests] },
    );
    const tokens = await client.clientCredentialsGrant(conf, { scope: 'admin:read' });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: issuer,
      sub: service.id,
      tenant_id: tenant.id,
      app_scope: 'TENANT',
      platform_token: false,
      token_type: 'client_credentials',
    });
    const list = await t.request({
      method: 'GET',
      url: '/api/v1/admin/tenants/',
      token: tokens.access_token,
    });
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([tenant.id]);
  });

  it("issues client_credentials tokens to the partner's PARTNER applications and refuses GLOBAL ones here", async () => {
    const partnerApp = await insertApplication(t, {
      scope: 'PARTNER',
      partnerId: tenant.partner_id,
      allowedScopes: ['admin:read'],
    });
    const conf = await client.discovery(
      new URL(issuer),
      partnerApp.id,
      undefined,
      client.ClientSecretBasic(partnerApp.secret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const tokens = await client.clientCredentialsGrant(conf);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      app_scope: 'PARTNER',
      partner_id: tenant.partner_id,
      platform_token: false,
    });
    const globalApp = await insertApplication(t, { scope: 'GLOBAL', allowedScopes: ['admin:read'] });
    const globalConf = await client.discovery(
      new URL(issuer),
      globalApp.id,
      undefined,
      client.ClientSecretBasic(globalApp.secret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    await expect(client.clientCredentialsGrant(globalConf)).rejects.toMatchObject({
      error: 'unauthorized_client',
    });
  });

  it('exchanges a user token for one addressed to the service with an act claim (RFC 8693)', async () => {
    const user = await createUser();
    const flow = await signIn(new TestBrowser(t.origin), { email: user.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, new URL(flow.callback as string), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const conf = await client.discovery(
      new URL(issuer),
      service.id,
      undefined,
      client.ClientSecretBasic(service.secret),
      { execute: [client.allowInsecureRequests] },
    );
    // The relying party that received the user's token trades it for one addressed to the service
    // (a subject token is accepted only from the client it is addressed to).
    const forService = await client.genericGrantRequest(
      config,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      {
        subject_token: tokens.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: service.id,
      },
    );
    expect(decodeJwt(forService.access_token)).toMatchObject({ aud: service.id, client_id: web.id });
    const exchanged = await client.genericGrantRequest(
      conf,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      {
        subject_token: forService.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        scope: 'openid',
      },
    );
    const claims = decodeJwt(exchanged.access_token);
    expect(claims).toMatchObject({
      sub: user.id,
      client_id: service.id,
      aud: service.id,
      tenant_id: tenant.id,
      act: { sub: service.id, client_id: service.id, act: { sub: web.id, client_id: web.id } },
      scope: 'openid',
    });
    await expect(
      client.genericGrantRequest(conf, 'urn:ietf:params:oauth:grant-type:token-exchange', {
        subject_token: forService.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        scope: 'admin:write files:read',
      }),
    ).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(
      client.genericGrantRequest(conf, 'urn:ietf:params:oauth:grant-type:token-exchange', {
        subject_token: `${forService.access_token}x`,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }),
    ).rejects.toMatchObject({ error: 'invalid_request' });
  });
});

describe('platform flavour', () => {
  /** A GLOBAL application and the query of a platform authorization request for it. */
  async function platformRequest() {
    const global = await insertApplication(t, {
      scope: 'GLOBAL',
      type: 'WEB',
      allowedScopes: ['openid', 'email'],
      redirectUris: [CALLBACK],
    });
    const verifier = client.randomPKCECodeVerifier();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: global.id,
      redirect_uri: CALLBACK,
      scope: 'openid email',
      state: 'platform-state',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { global, verifier, query };
  }

  /** Signs in at the tenant login page reached from the platform page and redeems the code. */
  async function finish(
    browser: TestBrowser,
    loginPage: { status: number; url: string; body: string },
    request: Awaited<ReturnType<typeof platformRequest>>,
    user: { id: string; email: string },
    slug = tenant.slug,
  ) {
    expect(loginPage.status).toBe(200);
    expect(loginPage.url).toContain(`/api/v1/auth/tenants/${slug}/interaction/`);
    const done = await browser.submitForm(loginPage, { email: user.email, password: PASSWORD });
    expect(done.location).toMatch(/code=/);
    const conf = await client.discovery(
      new URL(`${t.origin}/api/v1/auth/tenants/${slug}`),
      request.global.id,
      undefined,
      client.ClientSecretBasic(request.global.secret),
      { execute: [client.allowInsecureRequests] },
    );
    const tokens = await client.authorizationCodeGrant(conf, new URL(done.location as string), {
      pkceCodeVerifier: request.verifier,
      expectedState: 'platform-state',
    });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, client_id: request.global.id });
  }

  /** Waits for the outbox message to `to` that the email step queues after answering. */
  async function mailTo(to: string) {
    for (;;) {
      const mail = await t.database.db
        .selectFrom('email_outbox')
        .selectAll()
        .where('recipient', '=', to)
        .where('kind', '=', 'sign_in_organizations')
        .executeTakeFirst();
      if (mail) return mail;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('answers every address alike and mails the owner a link to its organization (issue 10, item 11)', async () => {
    const request = await platformRequest();
    const user = await createUser();
    const browser = new TestBrowser(t.origin);
    const emailPage = await browser.follow(`${t.origin}/api/v1/platform/oauth/authorize?${request.query}`);
    expect(emailPage.status).toBe(200);
    expect(emailPage.body).toContain('name="email"');
    const known = await browser.submitForm(emailPage, { email: user.email.toUpperCase() });
    const nobody = await browser.submitForm(emailPage, {
      email: user.email.toUpperCase().replace('SIGNIN', 'NOBODY'),
    });
    expect(known.status).toBe(200);
    expect(nobody.status).toBe(200);
    // The same page for both, but for the address itself; no tenant named.
    const withoutAddress = (body: string) => body.replace(/<strong>[^<]*<\/strong>/, '');
    expect(withoutAddress(known.body)).toBe(withoutAddress(nobody.body));
    expect(known.body).not.toContain(tenant.slug);
    expect(known.body).not.toContain('Acme Sign-in');

    const mail = await mailTo(user.email);
    expect(mail.text_body).toContain('Acme Sign-in');
    const link = /(http:\/\/\S+\/oauth\/authorize\?\S+)/.exec(mail.text_body)?.[1] as string;
    expect(new URL(link).searchParams.get('login_hint')).toBe(user.email.toUpperCase());
    await finish(browser, await browser.follow(link), request, user);

    const unknownClient = await browser.follow(
      `${t.origin}/api/v1/platform/oauth/authorize?client_id=${web.id}&redirect_uri=${encodeURIComponent(CALLBACK)}&response_type=code`,
    );
    expect(unknownClient.status).toBe(400);
  });

  it("sends an address of a tenant's email domain straight to that tenant (home-realm discovery)", async () => {
    const domain = `realm-${newId('tenant').slice(4, 12)}.example`;
    const realm = await createTenant(t, { settings: { email_domains: [domain] } });
    const created = await t.post(`/api/v1/tenants/${realm.id}/users`, {
      email: `someone@${domain}`,
      password: PASSWORD,
      send_welcome_email: false,
    });
    expect(created.status).toBe(201);
    const request = await platformRequest();
    const browser = new TestBrowser(t.origin);
    const emailPage = await browser.follow(`${t.origin}/api/v1/platform/oauth/authorize?${request.query}`);
    const loginPage = await browser.submitForm(emailPage, { email: `someone@${domain}` });
    await finish(browser, loginPage, request, created.body.data, realm.slug);

    // A domain must be a lower-case domain name (422 naming it).
    const bad = await t.patch(`/api/v1/admin/tenants/${realm.id}`, {
      settings: { email_domains: ['Not A Domain'] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(['body', 'settings', 'email_domains', 0]);
  });
});

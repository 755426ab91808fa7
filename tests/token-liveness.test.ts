import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import {
  adminUserToken,
  createTenant,
  grantAdminRole,
  insertApplication,
  insertWebApplication,
  type Tenant,
} from './helpers/factories.js';
import {
  onPostgres,
  startTestApp,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  type TestApp,
  useTestApp,
} from './helpers/test-app.js';

/**
 * Security issue, items 3, 9, 10, 12 and 15: every place that accepts an access token (management
 * API, userinfo, introspection, token exchange) applies one liveness check, and user tokens act as
 * admins only with admin scopes.
 */

type Application = Awaited<ReturnType<typeof insertApplication>>;

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let issuer: string;
/** First-party console: may request admin scopes for its users. */
let consoleApp: Application;
/** An ordinary relying party: identity scopes only. */
let relyingParty: Application;
/** A confidential machine client of the tenant. */
let service: Application;
let consoleConfig: client.Configuration;

const CALLBACK = 'http://127.0.0.1:9/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:9/signed-out';
const PASSWORD = 'Correct-Horse-Battery-9';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const CONSOLE_SCOPE = 'openid email offline_access admin:read admin:write';

beforeAll(async () => {
  tenant = await createTenant(t);
  issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
  const inTenant = { scope: 'TENANT' as const, partnerId: tenant.partner_id, tenantId: tenant.id };
  consoleApp = await insertApplication(t, {
    ...inTenant,
    type: 'WEB',
    allowedScopes: ['openid', 'email', 'offline_access', 'admin:read', 'admin:write'],
    redirectUris: [CALLBACK],
    postLogoutRedirectUris: [AFTER_LOGOUT],
  });
  relyingParty = await insertApplication(t, {
    ...inTenant,
    type: 'WEB',
    allowedScopes: ['openid', 'email'],
    redirectUris: [CALLBACK],
  });
  service = await insertApplication(t, { ...inTenant, type: 'SERVICE', allowedScopes: ['admin:read'] });
  consoleConfig = await discover(consoleApp);
});

function discover(application: { id: string; secret: string }, at = issuer) {
  return client.discovery(
    new URL(at),
    application.id,
    undefined,
    client.ClientSecretBasic(application.secret),
    {
      execute: [client.allowInsecureRequests],
    },
  );
}

let n = 0;
/** A user with a password, optionally a tenant_admin of the test tenant. */
async function createUser(options: { admin?: boolean } = {}) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `liveness-${++n}@acme.example`,
    password: PASSWORD,
    send_welcome_email: false,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  const user = response.body.data as { id: string; email: string };
  if (options.admin) await grantAdminRole(t, user.id, 'tenant_admin', tenant);
  return user;
}

/** The authorization code flow with PKCE up to the callback (the code is not redeemed yet). */
async function authorize(user: { email: string }, scope: string, conf = consoleConfig) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: CALLBACK,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = new TestBrowser(t.origin);
  const page = await browser.follow(url.href);
  const after = page.location
    ? page
    : await browser.submitForm(page, { email: user.email, password: PASSWORD });
  const callback = new URL(after.location as string);
  return { browser, callback, checks: { pkceCodeVerifier: verifier, expectedState: state } };
}

/** Signs a user in and redeems the code. */
async function signIn(user: { email: string }, scope = CONSOLE_SCOPE, conf = consoleConfig) {
  const flow = await authorize(user, scope, conf);
  const tokens = await client.authorizationCodeGrant(conf, flow.callback, flow.checks);
  return { ...flow, tokens };
}

const adminGet = (token: string, app: TestApp = t) =>
  app.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token }).then((r) => r.status);

const userinfo = (token: string) =>
  fetch(`${issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

/** RFC 7662 at an endpoint, authenticated as a confidential client. */
async function introspect(token: string, as: { id: string; secret: string } = consoleApp, at = issuer) {
  const path = at === issuer ? '/oauth/introspect' : '/introspect';
  const response = await fetch(`${at}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${as.id}:${as.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { active: boolean } & Record<string, unknown>;
}

async function exchange(
  conf: client.Configuration,
  subjectToken: string,
  extra: Record<string, string> = {},
) {
  return client.genericGrantRequest(conf, TOKEN_EXCHANGE, {
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    ...extra,
  });
}

const setUserStatus = (userId: string, status: string) =>
  t.put(`/api/v1/tenants/${tenant.id}/users/${userId}/status`, { status });

const setApplicationStatus = (id: string, status: string) =>
  t.patch(`/api/v1/admin/applications/${id}`, { status });

/**
 * Polls until `probe` gives `expected` (a NOTIFY reaches another instance asynchronously): waited
 * on, not timed; the bound is only there to end a failing test.
 */
async function eventually<T>(probe: () => Promise<T>, expected: T): Promise<T> {
  // Set by the first probe, which waitFor runs at once.
  let value!: T;
  await vi
    .waitFor(
      async () => {
        value = await probe();
        if (value !== expected) throw new Error(`still ${String(value)}`);
      },
      { timeout: 30_000, interval: 20 },
    )
    .catch(() => {});
  return value;
}

describe('one liveness check for every endpoint that accepts a token (issue items 3, 10)', () => {
  it("introspects a disabled user's token as inactive, as userinfo and the management API refuse it", async () => {
    const user = await createUser({ admin: true });
    const { tokens } = await signIn(user);
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, sub: user.id });
    expect(await userinfo(tokens.access_token)).toBe(200);
    expect(await adminGet(tokens.access_token)).toBe(200);

    expect((await setUserStatus(user.id, 'DISABLED')).status).toBe(200);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await userinfo(tokens.access_token)).toBe(401);
    expect(await adminGet(tokens.access_token)).toBe(401);
    // A re-enabled user's unexpired token (its sign-in was not ended) works again.
    expect((await setUserStatus(user.id, 'ACTIVE')).status).toBe(200);
    expect((await introspect(tokens.access_token)).active).toBe(true);
  });

  it("introspects a deleted user's token as inactive", async () => {
    const user = await createUser();
    const { tokens } = await signIn(user, 'openid');
    expect((await introspect(tokens.access_token)).active).toBe(true);
    const deleted = await t.delete(`/api/v1/admin/users/${user.id}`);
    expect(deleted.status).toBe(204);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await userinfo(tokens.access_token)).toBe(401);
  });

  it("introspects a disabled application's tokens as inactive, user and client tokens alike", async () => {
    const app = await insertWebApplication(t, tenant, ['openid', 'admin:read'], [CALLBACK]);
    const conf = await discover(app);
    const { tokens } = await signIn(await createUser(), 'openid', conf);
    const machine = await client.clientCredentialsGrant(conf, { scope: 'admin:read' });
    expect((await introspect(tokens.access_token)).active).toBe(true);
    expect((await introspect(machine.access_token)).active).toBe(true);
    expect(await adminGet(machine.access_token)).toBe(200);

    expect((await setApplicationStatus(app.id, 'DISABLED')).status).toBe(200);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await introspect(machine.access_token)).toEqual({ active: false });
    expect(await adminGet(machine.access_token)).toBe(401);
    expect((await setApplicationStatus(app.id, 'ACTIVE')).status).toBe(200);
    expect((await introspect(machine.access_token)).active).toBe(true);
  });

  it('introspects an ID token as inactive: it is not an access token', async () => {
    const { tokens } = await signIn(await createUser(), 'openid');
    expect(await introspect(tokens.id_token as string)).toEqual({ active: false });
    expect(await userinfo(tokens.id_token as string)).toBe(401);
  });

  it('refuses an ID token as the subject token of a token exchange', async () => {
    const { tokens } = await signIn(await createUser(), 'openid');
    await expect(
      exchange(consoleConfig, tokens.id_token as string, { audience: service.id }),
    ).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('answers invalid_request, not invalid_grant, for a subject token it cannot verify (RFC 8693 §2.2.2, issue 11 item 6)', async () => {
    const { tokens } = await signIn(await createUser(), 'openid');
    const [header, payload] = tokens.access_token.split('.');
    for (const subject of ['not-a-jwt', `${header}.${payload}.AAAA`, `${tokens.access_token}x`]) {
      await expect(exchange(consoleConfig, subject, { audience: service.id })).rejects.toMatchObject({
        error: 'invalid_request',
        status: 400,
      });
    }
  });

  it("refuses a disabled user's access token as the subject token of a token exchange", async () => {
    const user = await createUser();
    const { tokens } = await signIn(user, 'openid');
    const exchanged = await exchange(consoleConfig, tokens.access_token, { audience: service.id });
    expect(decodeJwt(exchanged.access_token)).toMatchObject({ sub: user.id, aud: service.id });
    expect((await setUserStatus(user.id, 'DISABLED')).status).toBe(200);
    await expect(
      exchange(consoleConfig, tokens.access_token, { audience: service.id }),
    ).rejects.toMatchObject({
      error: 'invalid_request',
    });
    // The token it was exchanged for ends with the user too.
    expect(await introspect(exchanged.access_token)).toEqual({ active: false });
  });

  it('accepts a subject token only from the client it is addressed to', async () => {
    const user = await createUser();
    const { tokens } = await signIn(user, 'openid');
    const serviceConfig = await discover(service);
    // The service did not receive this token from ScaiKey: it is the console's.
    await expect(exchange(serviceConfig, tokens.access_token)).rejects.toMatchObject({
      error: 'invalid_request',
    });
    // The console trades it for one addressed to the service, which the service may trade on.
    const forService = await exchange(consoleConfig, tokens.access_token, { audience: service.id });
    const chained = await exchange(serviceConfig, forService.access_token);
    expect(decodeJwt(chained.access_token)).toMatchObject({
      sub: user.id,
      client_id: service.id,
      act: { client_id: service.id, act: { client_id: consoleApp.id } },
    });
  });
});

describe('client secret rotation ends the tokens minted with the old secret (issue item 9)', () => {
  const platformIssuer = () => `${t.origin}/api/v1/platform/oauth`;
  const grant = async (id: string, secret: string) => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/platform/oauth/token',
      headers: {
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  };
  /** Waits for the start of a second, so that a few steps after it happen within that second. */
  const startOfSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));

  it('refuses tokens minted before the rotation, even in the same second, and keeps those minted after', async () => {
    const created = await t.post('/api/v1/admin/applications/', {
      name: 'Rotating',
      application_type: 'SERVICE',
      scope: 'GLOBAL',
      allowed_scopes: ['admin:read'],
    });
    expect(created.status).toBe(201);
    const id = created.body.data.id as string;
    const earlier = await grant(id, created.body.data.client_secret);
    await startOfSecond();
    const sameSecond = await grant(id, created.body.data.client_secret);
    expect(await adminGet(sameSecond)).toBe(200);

    const rotated = await t.post(`/api/v1/admin/applications/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const after = await grant(id, rotated.body.data.client_secret);
    const rotatedAt = Date.parse(rotated.body.data.secret_rotated_at);
    // The token of the old secret and the rotation normally fall in one second (the case where
    // seconds alone cannot tell them apart); the new token is issued in a later one.
    expect(decodeJwt(sameSecond).iat).toBeLessThanOrEqual(Math.floor(rotatedAt / 1000));
    expect(decodeJwt(after).iat).toBeGreaterThan(Math.floor(rotatedAt / 1000));

    for (const old of [earlier, sameSecond]) {
      expect(await adminGet(old)).toBe(401);
      expect(
        await introspect(old, { id: TEST_CLIENT_ID, secret: TEST_CLIENT_SECRET }, platformIssuer()),
      ).toEqual({
        active: false,
      });
    }
    expect(await adminGet(after)).toBe(200);
    expect(
      (await introspect(after, { id: TEST_CLIENT_ID, secret: TEST_CLIENT_SECRET }, platformIssuer())).active,
    ).toBe(true);
  });

  it("ends a user's tokens obtained through a confidential client whose secret was rotated", async () => {
    const app = await insertWebApplication(t, tenant, ['openid'], [CALLBACK]);
    const { tokens } = await signIn(await createUser(), 'openid', await discover(app));
    expect(await userinfo(tokens.access_token)).toBe(200);
    const rotated = await t.post(`/api/v1/admin/applications/${app.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(await userinfo(tokens.access_token)).toBe(401);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    // The refresh token needs the client's (new) secret; the access token it gives is live.
    const renewed = await client.refreshTokenGrant(
      await discover({ id: app.id, secret: rotated.body.data.client_secret }),
      tokens.refresh_token as string,
    );
    expect(await userinfo(renewed.access_token)).toBe(200);
  });
});

describe('user tokens act as admins only with admin scopes (issue item 12)', () => {
  it('refuses an identity-only token of an admin user with 403 on the admin and tenant routes', async () => {
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant, scope: 'openid' });
    const admin = await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token });
    expect(admin.status).toBe(403);
    expect(admin.body).toEqual({
      detail: 'Token requires admin:read or admin:write scope',
      code: 'FORBIDDEN',
    });
    const users = await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token });
    expect(users.status).toBe(403);
  });

  it('lets admin:read read and not write', async () => {
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant, scope: 'openid admin:read' });
    expect(await adminGet(token)).toBe(200);
    const write = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/groups`,
      token,
      body: { name: `Readers ${++n}` },
    });
    expect(write.status).toBe(403);
  });

  it('gives admin scopes only to applications allowed them in the authorization code flow', async () => {
    const user = await createUser({ admin: true });
    const rpConfig = await discover(relyingParty);
    // An ordinary relying party cannot ask for admin scopes…
    const refused = await authorize(user, 'openid admin:read', rpConfig);
    expect(refused.callback.searchParams.get('error')).toBe('invalid_scope');
    // …and its token of an admin user carries the role but no admin power.
    const rp = await signIn(user, 'openid email', rpConfig);
    const rpClaims = decodeJwt(rp.tokens.access_token);
    expect(rpClaims.role).toBe('tenant_admin');
    expect(String(rpClaims.scope).split(' ').sort()).toEqual(['email', 'openid']);
    expect(await userinfo(rp.tokens.access_token)).toBe(200);
    expect(await adminGet(rp.tokens.access_token)).toBe(403);

    const console = await signIn(user);
    const claims = decodeJwt(console.tokens.access_token);
    expect(claims.role).toBe('tenant_admin');
    expect(String(claims.scope).split(' ')).toEqual(expect.arrayContaining(['admin:read', 'admin:write']));
    expect(await adminGet(console.tokens.access_token)).toBe(200);
  });

  it('gives no admin power to a token exchanged for another audience', async () => {
    const user = await createUser({ admin: true });
    const { tokens } = await signIn(user);
    const exchanged = await exchange(consoleConfig, tokens.access_token, { audience: service.id });
    expect(decodeJwt(exchanged.access_token)).toMatchObject({ aud: service.id, client_id: consoleApp.id });
    expect(String(decodeJwt(exchanged.access_token).scope)).toContain('admin:read');
    const response = await t.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: exchanged.access_token,
    });
    expect(response.status).toBe(403);
  });
});

describe('a reused authorization code revokes what the code gave (issue item 15)', () => {
  it('ends the access and refresh tokens of the first redemption', async () => {
    const user = await createUser({ admin: true });
    const flow = await authorize(user, CONSOLE_SCOPE);
    const first = await client.authorizationCodeGrant(consoleConfig, flow.callback, flow.checks);
    expect(await adminGet(first.access_token)).toBe(200);
    expect(await userinfo(first.access_token)).toBe(200);

    await expect(
      client.authorizationCodeGrant(consoleConfig, flow.callback, flow.checks),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect(await userinfo(first.access_token)).toBe(401);
    expect(await adminGet(first.access_token)).toBe(401);
    expect(await introspect(first.access_token)).toEqual({ active: false });
    await expect(
      client.refreshTokenGrant(consoleConfig, first.refresh_token as string),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('signing out ends the access tokens of that sign-in', async () => {
    const user = await createUser();
    const { browser, tokens } = await signIn(user, 'openid');
    expect(await userinfo(tokens.access_token)).toBe(200);
    const logout = client.buildEndSessionUrl(consoleConfig, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: AFTER_LOGOUT,
    });
    const done = await browser.submitLogout(await browser.follow(logout.href));
    expect(done.location).toMatch(/signed-out/);
    expect(await userinfo(tokens.access_token)).toBe(401);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });
});

describe.runIf(onPostgres)('on every instance (PostgreSQL, LISTEN/NOTIFY)', () => {
  it('a rotation and a reused code on one instance end the tokens another instance has cached', async () => {
    const other = await startTestApp({ publicUrl: t.origin }, t.database_);
    try {
      const app = await insertApplication(t, { scope: 'GLOBAL', allowedScopes: ['admin:read'] });
      const machine = await client.clientCredentialsGrant(
        await discover(app, `${t.origin}/api/v1/platform/oauth`),
      );
      const user = await createUser({ admin: true });
      const flow = await authorize(user, CONSOLE_SCOPE);
      const first = await client.authorizationCodeGrant(consoleConfig, flow.callback, flow.checks);
      // The other instance verifies both tokens and caches them.
      expect(await adminGet(machine.access_token, other)).toBe(200);
      expect(await adminGet(first.access_token, other)).toBe(200);

      await expect(
        client.authorizationCodeGrant(consoleConfig, flow.callback, flow.checks),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await eventually(() => adminGet(first.access_token, other), 401)).toBe(401);

      const rotated = await t.post(`/api/v1/admin/applications/${app.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      expect(await eventually(() => adminGet(machine.access_token, other), 401)).toBe(401);
    } finally {
      await other.close();
    }
  });
});

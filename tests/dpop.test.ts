import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { DPOP_PROOF_WINDOW_SECONDS, DPOP_SIGNING_ALGS, sha256Base64url } from '../src/platform/auth/dpop.js';
import { instanceSecret } from '../src/platform/db/instance-secrets.js';
import { tenantIssuer } from '../src/platform/issuers.js';
import { redisKeyPrefix } from '../src/platform/rate-limit/backends.js';
import { REDIS_NAMESPACE_SECRET } from '../src/platform/rate-limit/limits.js';
import { signAccessToken } from '../src/protocols/oauth/access-token.js';
import { TestBrowser } from './helpers/browser.js';
import {
  createTenant,
  grantAdminRole,
  insertApplication,
  insertUser,
  type Tenant,
} from './helpers/factories.js';
import { REDIS_URL, withRedis } from './helpers/redis.js';
import { onPostgres, PUBLIC_URL, startTestApp, type TestApp, useTestApp } from './helpers/test-app.js';

/**
 * Issue 11 item 1: DPoP (RFC 9449). Tokens issued with a DPoP proof are bound to its key
 * (`cnf.jkt`) by every grant, and userinfo and the management API accept them only as
 * `DPoP <token>` with a valid proof of that key; proofs here are real, signed by jose.
 */

type Application = Awaited<ReturnType<typeof insertApplication>>;

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let issuer: string;
/** Confidential first-party console: user tokens with admin scopes. */
let consoleApp: Application;
/** A public client (NATIVE): its refresh tokens are bound too (RFC 9449 §5). */
let nativeApp: Application;
let service: Application;
let consoleConfig: client.Configuration;
let nativeConfig: client.Configuration;

const CALLBACK = 'http://127.0.0.1:9/callback';
const PASSWORD = 'Correct-Horse-Battery-9';
const CONSOLE_SCOPE = 'openid email offline_access admin:read admin:write';

type KeyPair = Parameters<typeof client.getDPoPHandle>[1];

interface Key {
  pair: KeyPair;
  jwk: JWK;
  thumbprint: string;
}

async function newKey(alg = 'ES256'): Promise<Key> {
  const pair = (await generateKeyPair(alg, { extractable: true })) as KeyPair;
  const jwk = await exportJWK(pair.publicKey);
  return { pair, jwk, thumbprint: await calculateJwkThumbprint(jwk) };
}

/** A DPoP proof (RFC 9449 §4.2) signed with `key`; every part can be overridden to make it wrong. */
async function proof(
  key: Key,
  claims: { htm: string; htu: string; accessToken?: string; iat?: number; jti?: string; ath?: string },
  header: { typ?: string; jwk?: JWK } = {},
) {
  return new SignJWT({
    htm: claims.htm,
    htu: claims.htu,
    jti: claims.jti ?? randomUUID(),
    ...(claims.ath !== undefined
      ? { ath: claims.ath }
      : claims.accessToken
        ? { ath: sha256Base64url(claims.accessToken) }
        : {}),
  })
    .setProtectedHeader({ alg: 'ES256', typ: header.typ ?? 'dpop+jwt', jwk: header.jwk ?? key.jwk })
    .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.pair.privateKey);
}

beforeAll(async () => {
  tenant = await createTenant(t);
  issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
  const inTenant = { scope: 'TENANT' as const, partnerId: tenant.partner_id, tenantId: tenant.id };
  consoleApp = await insertApplication(t, {
    ...inTenant,
    type: 'WEB',
    allowedScopes: ['openid', 'email', 'offline_access', 'admin:read', 'admin:write'],
    redirectUris: [CALLBACK],
  });
  nativeApp = await insertApplication(t, {
    ...inTenant,
    type: 'NATIVE',
    allowedScopes: ['openid', 'email', 'offline_access'],
    redirectUris: [CALLBACK],
  });
  service = await insertApplication(t, { ...inTenant, type: 'SERVICE', allowedScopes: ['admin:read'] });
  const options = { execute: [client.allowInsecureRequests] };
  consoleConfig = await client.discovery(
    new URL(issuer),
    consoleApp.id,
    undefined,
    client.ClientSecretBasic(consoleApp.secret),
    options,
  );
  nativeConfig = await client.discovery(new URL(issuer), nativeApp.id, undefined, client.None(), options);
});

let n = 0;
async function createUser(options: { admin?: boolean } = {}) {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `dpop-${++n}@acme.example`,
    password: PASSWORD,
    send_welcome_email: false,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  const user = response.body.data as { id: string; email: string };
  if (options.admin) await grantAdminRole(t, user.id, 'tenant_admin', tenant);
  return user;
}

/** The code flow with PKCE in a TestBrowser; the code is redeemed with `dpop` when given. */
async function signIn(
  user: { email: string },
  options: { dpop?: client.DPoPHandle; conf?: client.Configuration; scope?: string } = {},
) {
  const conf = options.conf ?? consoleConfig;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: CALLBACK,
    scope: options.scope ?? CONSOLE_SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = new TestBrowser(t.origin);
  const page = await browser.follow(url.href);
  const after = page.location
    ? page
    : await browser.submitForm(page, { email: user.email, password: PASSWORD });
  return client.authorizationCodeGrant(
    conf,
    new URL(after.location as string),
    { pkceCodeVerifier: verifier, expectedState: state },
    undefined,
    options.dpop ? { DPoP: options.dpop } : undefined,
  );
}

const userinfoUrl = () => `${issuer}/oauth/userinfo`;
const adminUrl = () => `${t.origin}/api/v1/admin/tenants/${tenant.id}`;

/** GET `url` with `Authorization: <scheme> <token>` and, when given, a DPoP header. */
async function get(url: string, scheme: 'Bearer' | 'DPoP', token: string, dpop?: string) {
  const response = await fetch(url, {
    headers: { authorization: `${scheme} ${token}`, ...(dpop ? { dpop } : {}) },
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate') ?? '',
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** A DPoP-bound user token of an admin user, from the code flow with `key`'s proofs. */
async function boundUserToken(key: Key) {
  const user = await createUser({ admin: true });
  const tokens = await signIn(user, { dpop: client.getDPoPHandle(consoleConfig, key.pair) });
  return { user, tokens };
}

describe('issuing DPoP-bound tokens (RFC 9449 §5, §6)', () => {
  it('advertises the proof algorithms it accepts', () => {
    expect(consoleConfig.serverMetadata().dpop_signing_alg_values_supported).toEqual([...DPOP_SIGNING_ALGS]);
  });

  it('binds the access token of a code exchange to the proof key (openid-client end to end)', async () => {
    const key = await newKey();
    const dpop = client.getDPoPHandle(consoleConfig, key.pair);
    const user = await createUser({ admin: true });
    const tokens = await signIn(user, { dpop });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ sub: user.id, client_id: consoleApp.id, cnf: { jkt: key.thumbprint } });

    // userinfo and the management API, with proofs made by openid-client.
    const info = await client.fetchUserInfo(consoleConfig, tokens.access_token, user.id, { DPoP: dpop });
    expect(info.email).toBe(user.email);
    const admin = await client.fetchProtectedResource(
      consoleConfig,
      tokens.access_token,
      new URL(adminUrl()),
      'GET',
      undefined,
      undefined,
      { DPoP: dpop },
    );
    expect(admin.status).toBe(200);
    expect(((await admin.json()) as { data: { id: string } }).data.id).toBe(tenant.id);

    // A refresh with a proof of the same key keeps the binding.
    const refreshed = await client.refreshTokenGrant(
      consoleConfig,
      tokens.refresh_token as string,
      undefined,
      { DPoP: dpop },
    );
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: key.thumbprint });
    const again = await client.fetchUserInfo(consoleConfig, refreshed.access_token, user.id, { DPoP: dpop });
    expect(again.sub).toBe(user.id);
  });

  it("binds a public client's refresh token to the key: a refresh needs a proof of it", async () => {
    const key = await newKey();
    const other = await newKey();
    const user = await createUser();
    const tokens = await signIn(user, {
      conf: nativeConfig,
      scope: 'openid email offline_access',
      dpop: client.getDPoPHandle(nativeConfig, key.pair),
    });
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.thumbprint });
    const refreshToken = tokens.refresh_token as string;
    await expect(
      client.refreshTokenGrant(nativeConfig, refreshToken, undefined, {
        DPoP: client.getDPoPHandle(nativeConfig, other.pair),
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(nativeConfig, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const refreshed = await client.refreshTokenGrant(nativeConfig, refreshToken, undefined, {
      DPoP: client.getDPoPHandle(nativeConfig, key.pair),
    });
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: key.thumbprint });
  });

  it('keeps issuing plain bearer tokens without a proof', async () => {
    const tokens = await signIn(await createUser());
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(decodeJwt(tokens.access_token).cnf).toBeUndefined();
    expect((await get(userinfoUrl(), 'Bearer', tokens.access_token)).status).toBe(200);
  });

  it('binds a client_credentials token requested with a proof, on the tenant and platform token endpoints', async () => {
    const key = await newKey();
    const serviceConfig = await client.discovery(
      new URL(issuer),
      service.id,
      undefined,
      client.ClientSecretBasic(service.secret),
      { execute: [client.allowInsecureRequests] },
    );
    const dpop = client.getDPoPHandle(serviceConfig, key.pair);
    const tokens = await client.clientCredentialsGrant(
      serviceConfig,
      { scope: 'admin:read' },
      { DPoP: dpop },
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: service.id,
      token_type: 'client_credentials',
      app_scope: 'TENANT',
      cnf: { jkt: key.thumbprint },
    });
    const withProof = await client.fetchProtectedResource(
      serviceConfig,
      tokens.access_token,
      new URL(adminUrl()),
      'GET',
      undefined,
      undefined,
      { DPoP: dpop },
    );
    expect(withProof.status).toBe(200);
    expect((await get(adminUrl(), 'Bearer', tokens.access_token)).status).toBe(401);
    expect((await get(adminUrl(), 'DPoP', tokens.access_token)).status).toBe(401);

    // The platform token endpoint (native client_credentials) hands a request with a proof over.
    const global = await insertApplication(t, { scope: 'GLOBAL', allowedScopes: ['admin:read'] });
    const tokenUrl = `${t.origin}/api/v1/platform/oauth/token`;
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${global.id}:${global.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await proof(key, { htm: 'POST', htu: tokenUrl }),
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    const platformTokens = (await response.json()) as { access_token: string; token_type: string };
    expect(platformTokens.token_type).toBe('DPoP');
    expect(decodeJwt(platformTokens.access_token)).toMatchObject({
      sub: global.id,
      platform_token: true,
      scope: 'admin:read',
      cnf: { jkt: key.thumbprint },
    });
    const tenants = `${t.origin}/api/v1/admin/tenants/`;
    const ok = await get(
      tenants,
      'DPoP',
      platformTokens.access_token,
      await proof(key, { htm: 'GET', htu: tenants, accessToken: platformTokens.access_token }),
    );
    expect(ok.status).toBe(200);
    expect((await get(tenants, 'Bearer', platformTokens.access_token)).status).toBe(401);
  });

  it('introspects a bound token with its cnf and token_type DPoP (RFC 9449 §6.2)', async () => {
    const key = await newKey();
    const { tokens } = await boundUserToken(key);
    const response = await fetch(`${issuer}/oauth/introspect`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${consoleApp.id}:${consoleApp.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: tokens.access_token }).toString(),
    });
    expect(await response.json()).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: key.thumbprint },
    });
  });

  it("binds an exchanged token to the proof of the exchange, never to the subject token's key", async () => {
    const userKey = await newKey();
    const { user, tokens } = await boundUserToken(userKey);
    const exchange = (subject: string, options?: client.DPoPOptions) =>
      client.genericGrantRequest(
        consoleConfig,
        'urn:ietf:params:oauth:grant-type:token-exchange',
        {
          subject_token: subject,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        },
        options,
      );
    // Without a proof: a bearer token, without the subject's cnf.
    const plain = await exchange(tokens.access_token);
    expect(plain.token_type.toLowerCase()).toBe('bearer');
    expect(decodeJwt(plain.access_token)).toMatchObject({ sub: user.id });
    expect(decodeJwt(plain.access_token).cnf).toBeUndefined();

    // With the caller's own proof: bound to the caller's key, usable only with its proofs.
    const callerKey = await newKey();
    const dpop = client.getDPoPHandle(consoleConfig, callerKey.pair);
    const bound = await exchange(tokens.access_token, { DPoP: dpop });
    expect(bound.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(bound.access_token).cnf).toEqual({ jkt: callerKey.thumbprint });
    const info = await client.fetchUserInfo(consoleConfig, bound.access_token, user.id, { DPoP: dpop });
    expect(info.sub).toBe(user.id);
    expect((await get(userinfoUrl(), 'Bearer', bound.access_token)).status).toBe(401);

    // A bad proof at the token endpoint is invalid_dpop_proof; a replayed one too.
    const tokenUrl = `${issuer}/oauth/token`;
    const send = (proofJwt: string) =>
      fetch(tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${consoleApp.id}:${consoleApp.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          dpop: proofJwt,
        },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: tokens.access_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        }).toString(),
      });
    const once = await proof(callerKey, { htm: 'POST', htu: tokenUrl });
    expect((await send(once)).status).toBe(200);
    for (const wrong of [once, await proof(callerKey, { htm: 'POST', htu: userinfoUrl() })]) {
      const response = await send(wrong);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    }
  });
});

describe('using DPoP-bound tokens (RFC 9449 §4.3, §7)', () => {
  let key: Key;
  let token: string;
  beforeAll(async () => {
    key = await newKey();
    token = (await boundUserToken(key)).tokens.access_token;
  });
  const good = (overrides: Partial<Parameters<typeof proof>[1]> = {}, url = userinfoUrl()) =>
    proof(key, { htm: 'GET', htu: url, accessToken: token, ...overrides });

  it('accepts the token with the DPoP scheme and a valid proof, at userinfo and the management API', async () => {
    expect((await get(userinfoUrl(), 'DPoP', token, await good())).status).toBe(200);
    const admin = await get(adminUrl(), 'DPoP', token, await good({}, adminUrl()));
    expect(admin.status).toBe(200);
    expect(admin.body.data).toMatchObject({ id: tenant.id });
    // htu leaves out the query (RFC 9449 §4.3 step 9).
    const withQuery = await get(`${adminUrl()}?x=1`, 'DPoP', token, await good({}, adminUrl()));
    expect(withQuery.status).toBe(200);
  });

  it('refuses the bound token presented as Bearer, with a DPoP challenge', async () => {
    for (const url of [userinfoUrl(), adminUrl()]) {
      const response = await get(url, 'Bearer', token, await good({}, url));
      expect(response.status).toBe(401);
      expect(response.challenge).toMatch(/^DPoP error="invalid_token"/);
      expect(response.challenge).toContain(`algs="${DPOP_SIGNING_ALGS.join(' ')}"`);
    }
    const info = await get(userinfoUrl(), 'Bearer', token);
    expect(info.body).toMatchObject({ error: 'invalid_token' });
    const admin = await get(adminUrl(), 'Bearer', token);
    expect(admin.body).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('refuses the DPoP scheme without a proof', async () => {
    for (const url of [userinfoUrl(), adminUrl()]) {
      const response = await get(url, 'DPoP', token);
      expect(response.status).toBe(401);
      expect(response.challenge).toMatch(/^DPoP error="invalid_dpop_proof"/);
    }
  });

  it('refuses proofs with a wrong method, URL, token hash, age, type or key', async () => {
    const other = await newKey();
    const now = Math.floor(Date.now() / 1000);
    const wrong: Record<string, string> = {
      htm: await good({ htm: 'POST' }),
      'htu of another endpoint': await good({}, adminUrl()),
      'htu of another host': await good({}, userinfoUrl().replace('127.0.0.1', 'localhost')),
      ath: await good({ ath: sha256Base64url(`${token}x`) }),
      'no ath': await proof(key, { htm: 'GET', htu: userinfoUrl() }),
      'old iat': await good({ iat: now - DPOP_PROOF_WINDOW_SECONDS - 30 }),
      'future iat': await good({ iat: now + DPOP_PROOF_WINDOW_SECONDS + 30 }),
      typ: await proof(key, { htm: 'GET', htu: userinfoUrl(), accessToken: token }, { typ: 'jwt' }),
      'other key': await proof(other, { htm: 'GET', htu: userinfoUrl(), accessToken: token }),
      'signature of another key': await proof(
        other,
        { htm: 'GET', htu: userinfoUrl(), accessToken: token },
        { jwk: key.jwk },
      ),
      'not a JWT': 'not-a-proof',
    };
    for (const [what, dpop] of Object.entries(wrong)) {
      const response = await get(userinfoUrl(), 'DPoP', token, dpop);
      expect({ what, status: response.status, error: response.body.error }).toEqual({
        what,
        status: 401,
        error: 'invalid_dpop_proof',
      });
    }
    // The management API applies the same checks.
    const admin = await get(adminUrl(), 'DPoP', token, await good({ iat: now - 600 }, adminUrl()));
    expect(admin.status).toBe(401);
    expect(admin.challenge).toMatch(/^DPoP error="invalid_dpop_proof"/);
  });

  it('refuses a proof used twice (replay)', async () => {
    const once = await good();
    expect((await get(userinfoUrl(), 'DPoP', token, once)).status).toBe(200);
    const replayed = await get(userinfoUrl(), 'DPoP', token, once);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error_description).toMatch(/already used/);
    const adminProof = await good({}, adminUrl());
    expect((await get(adminUrl(), 'DPoP', token, adminProof)).status).toBe(200);
    expect((await get(adminUrl(), 'DPoP', token, adminProof)).status).toBe(401);
  });

  it('checks htu against SCAIKEY_PUBLIC_URL, not the Host header', async () => {
    const inject = async (htu: string) =>
      t.app.inject({
        method: 'GET',
        url: `/api/v1/admin/tenants/${tenant.id}`,
        headers: {
          host: 'attacker.example',
          authorization: `DPoP ${token}`,
          dpop: await proof(key, { htm: 'GET', htu, accessToken: token }),
        },
      });
    expect((await inject(`http://attacker.example/api/v1/admin/tenants/${tenant.id}`)).statusCode).toBe(401);
    expect((await inject(adminUrl())).statusCode).toBe(200);
  });

  it('refuses a plain bearer token presented with the DPoP scheme', async () => {
    const tokens = await signIn(await createUser({ admin: true }));
    const plain = tokens.access_token;
    const dpop = await proof(key, { htm: 'GET', htu: userinfoUrl(), accessToken: plain });
    const response = await get(userinfoUrl(), 'DPoP', plain, dpop);
    expect(response.status).toBe(401);
    expect(response.challenge).toMatch(/^DPoP error="invalid_token"/);
    const admin = await get(
      adminUrl(),
      'DPoP',
      plain,
      await proof(key, { htm: 'GET', htu: adminUrl(), accessToken: plain }),
    );
    expect(admin.status).toBe(401);
    // As Bearer it works, with or without a stray DPoP header.
    expect((await get(adminUrl(), 'Bearer', plain)).status).toBe(200);
  });

  it('binds management API tokens signed by ScaiKey with cnf.jkt whatever issued them', async () => {
    const user = await insertUser(t, tenant.id);
    await grantAdminRole(t, user.id, 'tenant_admin', tenant);
    const bound = signAccessToken(
      t.app.scaikey.keys,
      tenantIssuer(t.config.publicUrl, tenant.slug),
      {
        sub: user.id,
        aud: consoleApp.id,
        client_id: consoleApp.id,
        scope: 'openid admin:read',
        tenant_id: tenant.id,
        partner_id: tenant.partner_id,
        role: 'tenant_admin',
        cnf: { jkt: key.thumbprint },
      },
      3600,
    );
    const withProof = await get(
      adminUrl(),
      'DPoP',
      bound,
      await proof(key, { htm: 'GET', htu: adminUrl(), accessToken: bound }),
    );
    expect(withProof.status).toBe(200);
    expect((await get(adminUrl(), 'DPoP', bound)).status).toBe(401);
    expect((await get(adminUrl(), 'Bearer', bound)).status).toBe(401);
  });

  it('answers userinfo for a bound token without the openid scope with a DPoP insufficient_scope challenge', async () => {
    const user = await insertUser(t, tenant.id);
    const bound = signAccessToken(
      t.app.scaikey.keys,
      tenantIssuer(t.config.publicUrl, tenant.slug),
      {
        sub: user.id,
        aud: consoleApp.id,
        client_id: consoleApp.id,
        scope: 'email',
        tenant_id: tenant.id,
        partner_id: tenant.partner_id,
        cnf: { jkt: key.thumbprint },
      },
      3600,
    );
    const response = await get(
      userinfoUrl(),
      'DPoP',
      bound,
      await proof(key, { htm: 'GET', htu: userinfoUrl(), accessToken: bound }),
    );
    expect(response.status).toBe(403);
    expect(response.challenge).toBe('DPoP error="insufficient_scope"');
  });
});

describe.runIf(onPostgres)('on every instance (PostgreSQL)', () => {
  it('refuses on one instance a proof already used on another', async () => {
    let other: TestApp | undefined;
    try {
      other = await startTestApp({ publicUrl: t.origin }, t.database_);
      const key = await newKey();
      const { tokens } = await boundUserToken(key);
      const dpop = await proof(key, { htm: 'GET', htu: adminUrl(), accessToken: tokens.access_token });
      expect((await get(adminUrl(), 'DPoP', tokens.access_token, dpop)).status).toBe(200);
      const replayed = await other.app.inject({
        method: 'GET',
        url: `/api/v1/admin/tenants/${tenant.id}`,
        headers: { authorization: `DPoP ${tokens.access_token}`, dpop },
      });
      expect(replayed.statusCode).toBe(401);
      expect(replayed.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof"/);
    } finally {
      await other?.close();
    }
  });
});

describe.runIf(await withRedis())('with Redis (SCAIKEY_REDIS_URL)', () => {
  it('remembers the proofs in Redis, not in the database', async () => {
    const r = await startTestApp({ redisUrl: REDIS_URL });
    try {
      const key = await newKey();
      const home = await createTenant(r);
      const user = await insertUser(r, home.id);
      await grantAdminRole(r, user.id, 'tenant_admin', home);
      const app = await insertApplication(r, {
        scope: 'TENANT',
        partnerId: home.partner_id,
        tenantId: home.id,
        type: 'WEB',
        allowedScopes: ['openid', 'admin:read'],
      });
      const bound = signAccessToken(
        r.app.scaikey.keys,
        tenantIssuer(PUBLIC_URL, home.slug),
        {
          sub: user.id,
          aud: app.id,
          client_id: app.id,
          scope: 'openid admin:read',
          tenant_id: home.id,
          partner_id: home.partner_id,
          role: 'tenant_admin',
          cnf: { jkt: key.thumbprint },
        },
        3600,
      );
      const path = `/api/v1/admin/tenants/${home.id}`;
      const dpop = await proof(key, { htm: 'GET', htu: `${PUBLIC_URL}${path}`, accessToken: bound });
      const send = () =>
        r.app.inject({ method: 'GET', url: path, headers: { authorization: `DPoP ${bound}`, dpop } });
      expect((await send()).statusCode).toBe(200);
      expect((await send()).statusCode).toBe(401);
      const rows = await r.database.db
        .selectFrom('rate_limits')
        .select('key')
        .where('key', 'like', 'dpop:%')
        .execute();
      expect(rows).toEqual([]);
      const { Redis } = await import('ioredis');
      const redis = new Redis(REDIS_URL);
      try {
        const prefix = redisKeyPrefix(await instanceSecret(r.database.db, REDIS_NAMESPACE_SECRET));
        const keys = await redis.keys(`${prefix}dpop:*`);
        expect(keys).toHaveLength(1);
        const ttl = await redis.pttl(keys[0] as string);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual((2 * DPOP_PROOF_WINDOW_SECONDS + 1) * 1000);
      } finally {
        redis.disconnect();
      }
    } finally {
      await r.close();
    }
  });
});

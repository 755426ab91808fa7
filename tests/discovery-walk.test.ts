import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Issue 11, item 2: every URL and feature either discovery document advertises works. Each
 * document is walked key by key: a key this file does not know fails the test, so whatever is
 * advertised later must come with its check here.
 */

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let issuer: string;
let platformIssuer: string;
let web: Awaited<ReturnType<typeof insertApplication>>;
let spa: Awaited<ReturnType<typeof insertApplication>>;
let service: Awaited<ReturnType<typeof insertApplication>>;
let globalService: Awaited<ReturnType<typeof insertApplication>>;
let globalOther: Awaited<ReturnType<typeof insertApplication>>;
let globalWeb: Awaited<ReturnType<typeof insertApplication>>;
let user: { id: string; email: string };
const CALLBACK = 'http://127.0.0.1:9/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:9/signed-out';
const PASSWORD = 'Correct-Horse-Battery-9';
const SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];
const insecure = { execute: [client.allowInsecureRequests] };

beforeAll(async () => {
  tenant = await createTenant(t);
  issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
  platformIssuer = `${t.origin}/api/v1/platform/oauth`;
  const interactive = {
    scope: 'TENANT' as const,
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    allowedScopes: [...SCOPES, 'admin:read'],
    redirectUris: [CALLBACK],
    postLogoutRedirectUris: [AFTER_LOGOUT],
  };
  web = await insertApplication(t, { ...interactive, type: 'WEB' });
  spa = await insertApplication(t, { ...interactive, type: 'SPA' });
  service = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type: 'SERVICE',
    allowedScopes: ['files:read'],
  });
  globalService = await insertApplication(t, {
    scope: 'GLOBAL',
    type: 'SERVICE',
    allowedScopes: ['admin:read'],
  });
  globalOther = await insertApplication(t, {
    scope: 'GLOBAL',
    type: 'SERVICE',
    allowedScopes: ['admin:read'],
  });
  globalWeb = await insertApplication(t, {
    scope: 'GLOBAL',
    type: 'WEB',
    allowedScopes: ['openid', 'email'],
    redirectUris: [CALLBACK],
  });
  const created = await t.request({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/users`,
    token: await t.platformToken(),
    body: { email: 'walker@example.com', password: PASSWORD, first_name: 'Wal', send_welcome_email: false },
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  user = created.body.data as { id: string; email: string };
});

async function discover(
  at: string,
  clientId: string,
  auth?: client.ClientAuth,
  metadata?: client.ClientMetadata,
) {
  return client.discovery(new URL(at), clientId, metadata, auth, insecure);
}

/** Signs in at the hosted page from an authorization URL; returns the last answer (callback redirect or page). */
async function signIn(url: URL) {
  const browser = new TestBrowser(t.origin);
  const page = await browser.follow(url.href);
  if (page.location) return { browser, answer: page };
  return { browser, answer: await browser.submitForm(page, { email: user.email, password: PASSWORD }) };
}

async function pkce() {
  const verifier = client.randomPKCECodeVerifier();
  return {
    verifier,
    params: {
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    },
  };
}

/** The hidden fields of oidc-provider's form_post page. */
function formPostFields(body: string): Record<string, string> {
  return Object.fromEntries(
    [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)].map((m) => [
      m[1] as string,
      (m[2] as string).replace(/&amp;/g, '&'),
    ]),
  );
}

describe('the tenant discovery document', () => {
  it('lists only what works: every endpoint answers and every advertised feature is exercised with openid-client', async () => {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown>;
    const walked = new Set<string>(['issuer']);
    const list = (key: string) => {
      walked.add(key);
      return doc[key] as string[];
    };
    const endpoint = (key: string) => {
      walked.add(key);
      const value = doc[key] as string;
      expect(value.startsWith(`${issuer}/`), key).toBe(true);
      return value;
    };
    expect(doc.issuer).toBe(issuer);

    const basic = await discover(issuer, web.id, client.ClientSecretBasic(web.secret));
    const post = await discover(issuer, web.id, client.ClientSecretPost(web.secret));
    const publicClient = await discover(issuer, spa.id, client.None());
    const byMethod: Record<string, client.Configuration> = {
      client_secret_basic: basic,
      client_secret_post: post,
      none: publicClient,
    };

    // Fixed facts the flows below rely on.
    expect(list('subject_types_supported')).toEqual(['public']);
    expect(list('code_challenge_methods_supported')).toEqual(['S256']);
    expect(list('response_types_supported')).toEqual(['code']);
    expect(list('id_token_signing_alg_values_supported')).toEqual(['RS256']);
    expect(list('claim_types_supported')).toEqual(['normal']);
    walked.add('claims_parameter_supported');
    expect(doc.claims_parameter_supported).toBe(false);
    walked.add('request_uri_parameter_supported');
    expect(doc.request_uri_parameter_supported).toBe(false);
    walked.add('request_parameter_supported');
    expect(doc.request_parameter_supported ?? false).toBe(false);
    walked.add('require_pushed_authorization_requests');
    expect(doc.require_pushed_authorization_requests ?? false).toBe(false);
    expect(list('scopes_supported')).toEqual(SCOPES);
    // The classes of ID tokens' acr (tests/mfa.test.ts asks for the second and gets it).
    expect(list('acr_values_supported')).toEqual(['urn:scaikey:loa:1', 'urn:scaikey:loa:2']);
    const jwksUri = endpoint('jwks_uri');
    const jwks = createRemoteJWKSet(new URL(jwksUri));
    endpoint('authorization_endpoint');
    endpoint('token_endpoint');

    // Every client authentication method, each with a code + PKCE sign-in asking every scope;
    // every response mode along the way; iss in every authorization response (RFC 9207).
    walked.add('authorization_response_iss_parameter_supported');
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
    const modes = list('response_modes_supported');
    expect(new Set(modes)).toEqual(new Set(['query', 'fragment', 'form_post']));
    const methods = list('token_endpoint_auth_methods_supported');
    expect(new Set(methods)).toEqual(new Set(Object.keys(byMethod)));
    walked.add('token_endpoint_auth_signing_alg_values_supported');
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toBeUndefined();
    let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers = undefined as never;
    for (const [index, method] of methods.entries()) {
      const config = byMethod[method] as client.Configuration;
      const mode = modes[index % modes.length] as string;
      const { verifier, params } = await pkce();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: SCOPES.join(' '),
        state,
        nonce,
        response_mode: mode,
        // offline_access is honoured with prompt=consent only (OpenID Connect Core §11).
        prompt: 'consent',
        ...params,
      });
      const { answer } = await signIn(url);
      let callback: URL | Request;
      if (mode === 'form_post') {
        expect(answer.status, method).toBe(200);
        const fields = formPostFields(answer.body);
        expect(fields).toMatchObject({ state, iss: issuer });
        callback = new Request(CALLBACK, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
      } else {
        const location = new URL(answer.location as string);
        const received = new URLSearchParams(mode === 'fragment' ? location.hash.slice(1) : location.search);
        expect(received.get('iss'), method).toBe(issuer);
        callback = new URL(`${CALLBACK}?${received.toString()}`);
      }
      tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      expect(decodeJwt(tokens.access_token), method).toMatchObject({ sub: user.id, iss: issuer });
      expect(tokens.refresh_token, method).toBeTruthy();
      const idToken = await jwtVerify(tokens.id_token as string, jwks, { issuer });
      expect(decodeProtectedHeader(tokens.id_token as string).alg).toBe('RS256');
      expect(idToken.payload.sub).toBe(user.id);
    }

    // userinfo: the claims of the scopes, all of them advertised.
    const claims = list('claims_supported');
    const info = await client.fetchUserInfo(basic, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, email: user.email, given_name: 'Wal' });
    for (const claim of Object.keys(info)) expect(claims, claim).toContain(claim);
    expect(endpoint('userinfo_endpoint')).toBe(`${issuer}/oauth/userinfo`);

    // Every grant type.
    const grants = list('grant_types_supported');
    expect(new Set(grants)).toEqual(
      new Set([
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ]),
    );
    const refreshed = await client.refreshTokenGrant(publicClient, tokens.refresh_token as string);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const serviceConfig = await discover(issuer, service.id, client.ClientSecretBasic(service.secret));
    const machine = await client.clientCredentialsGrant(serviceConfig, { scope: 'files:read' });
    expect(decodeJwt(machine.access_token)).toMatchObject({ sub: service.id, iss: issuer });
    const webTokens = await (async () => {
      const { verifier, params } = await pkce();
      const { answer } = await signIn(
        client.buildAuthorizationUrl(basic, { redirect_uri: CALLBACK, scope: 'openid', ...params }),
      );
      return client.authorizationCodeGrant(basic, new URL(answer.location as string), {
        pkceCodeVerifier: verifier,
      });
    })();
    const exchanged = await client.genericGrantRequest(
      basic,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      {
        subject_token: webTokens.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: service.id,
      },
    );
    expect(decodeJwt(exchanged.access_token)).toMatchObject({ sub: user.id, aud: service.id });

    // Introspection and revocation, with the client that holds the tokens.
    endpoint('introspection_endpoint');
    endpoint('revocation_endpoint');
    expect((await client.tokenIntrospection(basic, webTokens.access_token)).active).toBe(true);
    // A public client introspects its own (opaque) refresh token.
    expect((await client.tokenIntrospection(publicClient, refreshed.refresh_token as string)).active).toBe(
      true,
    );
    await client.tokenRevocation(basic, webTokens.access_token);
    expect((await client.tokenIntrospection(basic, webTokens.access_token)).active).toBe(false);

    // PAR (RFC 9126), confidential and public, ending in a code exchange.
    expect(endpoint('pushed_authorization_request_endpoint')).toBe(`${issuer}/oauth/par`);
    for (const config of [basic, publicClient]) {
      const { verifier, params } = await pkce();
      const url = await client.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: CALLBACK,
        scope: 'openid email',
        state: 'par-state',
        ...params,
      });
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
      const { answer } = await signIn(url);
      const pushed = await client.authorizationCodeGrant(config, new URL(answer.location as string), {
        pkceCodeVerifier: verifier,
        expectedState: 'par-state',
      });
      expect(decodeJwt(pushed.access_token).sub).toBe(user.id);
    }

    // DPoP (RFC 9449): the token endpoint takes a proof (binding itself is tested elsewhere).
    list('dpop_signing_alg_values_supported');
    {
      const DPoP = client.getDPoPHandle(publicClient, await client.randomDPoPKeyPair('ES256'));
      const { verifier, params } = await pkce();
      const { answer } = await signIn(
        client.buildAuthorizationUrl(publicClient, { redirect_uri: CALLBACK, scope: 'openid', ...params }),
      );
      const bound = await client.authorizationCodeGrant(
        publicClient,
        new URL(answer.location as string),
        { pkceCodeVerifier: verifier },
        undefined,
        { DPoP },
      );
      expect(bound.token_type.toLowerCase()).toBe('dpop');
    }

    // RP-initiated logout: the confirmation page, then back to the registered address.
    endpoint('end_session_endpoint');
    {
      const { verifier, params } = await pkce();
      const { browser, answer } = await signIn(
        client.buildAuthorizationUrl(basic, { redirect_uri: CALLBACK, scope: 'openid', ...params }),
      );
      const signedIn = await client.authorizationCodeGrant(basic, new URL(answer.location as string), {
        pkceCodeVerifier: verifier,
      });
      const confirm = await browser.follow(
        client.buildEndSessionUrl(basic, {
          id_token_hint: signedIn.id_token as string,
          post_logout_redirect_uri: AFTER_LOGOUT,
          state: 'bye',
        }).href,
      );
      expect(confirm.status).toBe(200);
      const done = await browser.submitLogout(confirm);
      expect(done.location).toBe(`${AFTER_LOGOUT}?state=bye`);
    }

    const unwalked = Object.keys(doc).filter((key) => !walked.has(key));
    expect(unwalked, 'advertised but not walked').toEqual([]);
  });

  it('keeps require_pushed_authorization_requests per application: plain requests refused, pushed ones work', async () => {
    const admin = await t.platformToken();
    const patched = await t.request({
      method: 'PATCH',
      url: `/api/v1/admin/applications/${web.id}`,
      token: admin,
      body: { require_pushed_authorization_requests: true },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data.require_pushed_authorization_requests).toBe(true);
    try {
      const config = await discover(issuer, web.id, client.ClientSecretBasic(web.secret));
      const { verifier, params } = await pkce();
      const plain = await signIn(
        client.buildAuthorizationUrl(config, {
          redirect_uri: CALLBACK,
          scope: 'openid',
          state: 's',
          ...params,
        }),
      );
      const refused = new URL(plain.answer.location as string);
      expect(refused.searchParams.get('error')).toBe('invalid_request');
      expect(refused.searchParams.get('error_description')).toMatch(/pushed authorization request/i);

      const url = await client.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        state: 's',
        ...params,
      });
      const { answer } = await signIn(url);
      const tokens = await client.authorizationCodeGrant(config, new URL(answer.location as string), {
        pkceCodeVerifier: verifier,
        expectedState: 's',
      });
      expect(decodeJwt(tokens.access_token).sub).toBe(user.id);
    } finally {
      await t.request({
        method: 'PATCH',
        url: `/api/v1/admin/applications/${web.id}`,
        token: admin,
        body: { require_pushed_authorization_requests: false },
      });
    }
  });

  it('authenticates clients at the PAR endpoint as at the token endpoint', async () => {
    const par = `${issuer}/oauth/par`;
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...fields,
      }).toString(),
    });
    const wrongSecret = await fetch(par, form({ client_id: web.id, client_secret: 'not-the-secret' }));
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client' });
    const noSecret = await fetch(par, form({ client_id: web.id }));
    expect(noSecret.status).toBe(401);
    const posted = await fetch(par, form({ client_id: web.id, client_secret: web.secret }));
    expect(posted.status).toBe(201);
    expect(await posted.json()).toMatchObject({
      request_uri: expect.stringMatching(/^urn:ietf:params:oauth:request_uri:/),
      expires_in: 60,
    });
    // A client of another tenant is unknown here.
    const other = await createTenant(t);
    const foreign = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: other.partner_id,
      tenantId: other.id,
      type: 'WEB',
      allowedScopes: ['openid'],
      redirectUris: [CALLBACK],
    });
    const refused = await fetch(par, form({ client_id: foreign.id, client_secret: foreign.secret }));
    expect(refused.status).toBe(401);
  });
});

describe('the platform discovery document', () => {
  it('lists only what the platform issuer serves, and each of it works', async () => {
    const response = await fetch(`${platformIssuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown>;
    const walked = new Set<string>(['issuer']);
    const list = (key: string) => {
      walked.add(key);
      return doc[key] as string[];
    };
    const endpoint = (key: string) => {
      walked.add(key);
      return doc[key] as string;
    };
    expect(doc.issuer).toBe(platformIssuer);
    const config = await discover(
      platformIssuer,
      globalService.id,
      client.ClientSecretBasic(globalService.secret),
    );
    const viaPost = await discover(
      platformIssuer,
      globalService.id,
      client.ClientSecretPost(globalService.secret),
    );

    for (const key of [
      'subject_types_supported',
      'scopes_supported',
      'claims_supported',
      'claim_types_supported',
      'id_token_signing_alg_values_supported',
      'code_challenge_methods_supported',
      'response_modes_supported',
      'authorization_response_iss_parameter_supported',
      'claims_parameter_supported',
      'request_uri_parameter_supported',
      'dpop_signing_alg_values_supported',
      'acr_values_supported',
    ]) {
      // Facts about the tenant issuers the platform's sign-in continues at (tested above).
      walked.add(key);
    }
    expect(doc.userinfo_endpoint).toBeUndefined();
    expect(doc.end_session_endpoint).toBeUndefined();
    expect(doc.pushed_authorization_request_endpoint).toBeUndefined();
    expect(list('response_types_supported')).toEqual(['code']);
    walked.add('token_endpoint_auth_signing_alg_values_supported');
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toBeUndefined();

    // The authorization endpoint is the page that asks for the email address and continues at the
    // tenant's issuer (platform-notes.md §3).
    const page = await fetch(
      `${endpoint('authorization_endpoint')}?${new URLSearchParams({
        response_type: 'code',
        client_id: globalWeb.id,
        redirect_uri: CALLBACK,
        scope: 'openid email',
      })}`,
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="email"');

    const jwks = createRemoteJWKSet(new URL(endpoint('jwks_uri')));
    expect(endpoint('token_endpoint')).toBe(`${platformIssuer}/token`);
    expect(new Set(list('grant_types_supported'))).toEqual(
      new Set(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']),
    );
    expect(new Set(list('token_endpoint_auth_methods_supported'))).toEqual(
      new Set(['client_secret_basic', 'client_secret_post', 'none']),
    );
    const machine = await client.clientCredentialsGrant(config, { scope: 'admin:read' });
    await jwtVerify(machine.access_token, jwks, { issuer: platformIssuer });
    const posted = await client.clientCredentialsGrant(viaPost, { scope: 'admin:read' });
    expect(decodeJwt(posted.access_token).sub).toBe(globalService.id);
    const exchanged = await client.genericGrantRequest(
      config,
      'urn:ietf:params:oauth:grant-type:token-exchange',
      {
        subject_token: machine.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: globalOther.id,
      },
    );
    expect(decodeJwt(exchanged.access_token)).toMatchObject({
      aud: globalOther.id,
      act: { client_id: globalService.id },
    });

    endpoint('introspection_endpoint');
    endpoint('revocation_endpoint');
    expect((await client.tokenIntrospection(config, machine.access_token)).active).toBe(true);
    await client.tokenRevocation(config, machine.access_token);
    expect((await client.tokenIntrospection(config, machine.access_token)).active).toBe(false);

    const unwalked = Object.keys(doc).filter((key) => !walked.has(key));
    expect(unwalked, 'advertised but not walked').toEqual([]);
  });
});

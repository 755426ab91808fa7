import * as client from 'openid-client';
import { TestBrowser } from './browser.js';
import { createTenant, insertApplication, type Tenant } from './factories.js';
import type { LiveApp, TestAppHandle } from './test-app.js';

type App = LiveApp & TestAppHandle;

/** Where the test applications' sign-ins end (nothing listens: tests read the redirect). */
export const CALLBACK = 'http://127.0.0.1:9/callback';
/** The password of the users the sign-in tests create. */
export const PASSWORD = 'Correct-Horse-Battery-9';
/** What the test applications ask for: identity, email and a refresh token. */
export const USER_SCOPE = 'openid profile email offline_access';

export interface SignInRealm {
  tenant: Tenant;
  web: Awaited<ReturnType<typeof insertApplication>>;
  /** openid-client's view of the tenant's issuer for `web` (HTTP Basic client authentication). */
  config: client.Configuration;
}

/** A tenant with a confidential WEB application signing users in at `CALLBACK`. */
export async function signInRealm(t: App, tenantFields: Record<string, unknown> = {}): Promise<SignInRealm> {
  const tenant = await createTenant(t, tenantFields);
  const web = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type: 'WEB',
    allowedScopes: ['openid', 'profile', 'email', 'offline_access'],
    redirectUris: [CALLBACK],
  });
  const config = await client.discovery(
    new URL(`${t.origin}/api/v1/auth/tenants/${tenant.slug}`),
    web.id,
    undefined,
    client.ClientSecretBasic(web.secret),
    { execute: [client.allowInsecureRequests] },
  );
  return { tenant, web, config };
}

let created = 0;

/** A user of `tenant` with `PASSWORD` (no welcome mail); `fields` add to or replace the defaults. */
export async function createSignInUser(
  t: App,
  tenant: Pick<Tenant, 'id'>,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; email: string }> {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `user-${++created}-${Date.now()}@acme.example`,
    password: PASSWORD,
    send_welcome_email: false,
    ...fields,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.data as { id: string; email: string };
}

/**
 * An authorization request of `config`'s application (PKCE S256, a state; `extra` adds or replaces
 * parameters, e.g. `scope`, `acr_values`, `redirect_uri`): its URL, and the exchange of the code
 * the sign-in ends with (the callback URL the browser was sent to).
 */
export async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: USER_SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return {
    url: url.href,
    verifier,
    state,
    tokens: (callback: string | null) => {
      if (!callback) throw new Error('the sign-in did not reach the callback');
      return client.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    },
  };
}

/**
 * Signs `email` in with `PASSWORD` in a new browser (no second factor) up to the callback: the
 * browser, the authorization request (its `tokens` exchanges the code) and the callback URL.
 */
export async function passwordSignInCallback(
  t: App,
  config: client.Configuration,
  email: string,
  extra: Record<string, string> = {},
) {
  const browser = new TestBrowser(t.origin);
  const request = await authorizationRequest(config, extra);
  const page = await browser.follow(request.url);
  const done = await browser.submitForm(page, { email, password: PASSWORD });
  return { browser, request, callback: done.location };
}

/** Signs `email` in with `PASSWORD` in a new browser (no second factor): the tokens and the browser. */
export async function passwordSignIn(
  t: App,
  config: client.Configuration,
  email: string,
  extra: Record<string, string> = {},
) {
  const { browser, request, callback } = await passwordSignInCallback(t, config, email, extra);
  return { browser, tokens: await request.tokens(callback) };
}

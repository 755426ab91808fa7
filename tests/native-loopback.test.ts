import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApplicationType } from '../src/platform/db/schema.js';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Issue 11, item 5: a NATIVE application's loopback IP redirect URI takes any port (RFC 8252
 * §7.3); everything else is matched exactly (RFC 9700 §2.1).
 */

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let issuer: string;
const PASSWORD = 'Correct-Horse-Battery-9';
const email = 'native.user@example.com';

beforeAll(async () => {
  tenant = await createTenant(t);
  issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
  const created = await t.request({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/users`,
    token: await t.platformToken(),
    body: { email, password: PASSWORD, send_welcome_email: false },
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
});

async function application(
  type: ApplicationType,
  redirectUris: string[],
  postLogoutRedirectUris: string[] = [],
) {
  const app = await insertApplication(t, {
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type,
    allowedScopes: ['openid'],
    redirectUris,
    postLogoutRedirectUris,
  });
  const auth = type === 'WEB' ? client.ClientSecretBasic(app.secret) : client.None();
  const config = await client.discovery(new URL(issuer), app.id, undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
  return { app, config };
}

/** Starts a code + PKCE sign-in at `redirectUri`; returns the first answer (page, or redirect elsewhere). */
async function authorize(config: client.Configuration, redirectUri: string) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    state: 'loopback',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const browser = new TestBrowser(t.origin);
  return { browser, verifier, first: await browser.follow(url.href) };
}

describe('loopback redirect URIs', () => {
  it('let a NATIVE application sign in at any port of its registered 127.0.0.1 and [::1] URIs', async () => {
    const { config } = await application('NATIVE', ['http://127.0.0.1/callback', 'http://[::1]:8080/cb?x=1']);
    for (const requested of ['http://127.0.0.1:18111/callback', 'http://[::1]:50123/cb?x=1']) {
      const { browser, verifier, first } = await authorize(config, requested);
      expect(first.status, requested).toBe(200);
      const done = await browser.submitForm(first, { email, password: PASSWORD });
      expect(
        done.location?.startsWith(`${requested}${requested.includes('?') ? '&' : '?'}code=`),
        requested,
      ).toBe(true);
      // The token request names the redirect URI used, port included (RFC 6749 §4.1.3).
      const code = new URL(done.location as string).searchParams.get('code') as string;
      const answer = await fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: config.clientMetadata().client_id,
          code,
          redirect_uri: requested,
          code_verifier: verifier,
        }).toString(),
      });
      expect(answer.status, requested).toBe(200);
      const tokens = (await answer.json()) as { access_token: string };
      expect(decodeJwt(tokens.access_token).client_id).toBe(config.clientMetadata().client_id);
    }
  });

  it('keep path, query and host exact for NATIVE applications, and do not extend to localhost', async () => {
    const { config } = await application('NATIVE', [
      'http://127.0.0.1/callback',
      'http://localhost/callback',
    ]);
    for (const requested of [
      'http://127.0.0.1:18111/other',
      'http://127.0.0.1:18111/callback?extra=1',
      'http://[::1]:18111/callback',
      'http://localhost:18111/callback',
      'https://127.0.0.1:18111/callback',
      'http://127.0.0.1:18111@evil.example/callback',
    ]) {
      const { first } = await authorize(config, requested);
      expect(first.status, requested).toBe(400);
      expect(first.body, requested).toContain('redirect_uri');
    }
  });

  it('stay exact for WEB and SPA applications', async () => {
    for (const type of ['WEB', 'SPA'] as const) {
      const { config } = await application(type, ['http://127.0.0.1/callback']);
      const { first } = await authorize(config, 'http://127.0.0.1:18111/callback');
      expect(first.status, type).toBe(400);
      expect(first.body, type).toContain('redirect_uri');
    }
  });

  it('apply to post-logout redirect URIs of NATIVE applications alike', async () => {
    const { config } = await application(
      'NATIVE',
      ['http://127.0.0.1/callback'],
      ['http://127.0.0.1/signed-out'],
    );
    const { browser, verifier, first } = await authorize(config, 'http://127.0.0.1:18111/callback');
    const done = await browser.submitForm(first, { email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, new URL(done.location as string), {
      pkceCodeVerifier: verifier,
      expectedState: 'loopback',
    });
    const confirm = await browser.follow(
      client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token as string,
        post_logout_redirect_uri: 'http://127.0.0.1:18112/signed-out',
      }).href,
    );
    expect(confirm.status).toBe(200);
    const out = await browser.submitLogout(confirm);
    expect(out.location).toBe('http://127.0.0.1:18112/signed-out');
  });
});

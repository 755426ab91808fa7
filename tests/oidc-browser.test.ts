import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from './helpers/browser.js';
import { createTenant, insertApplication } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

/** The hosted sign-in in a real browser: Debian's chromium driven by playwright-core (installed by .ci/run). */
const CALLBACK = 'http://127.0.0.1:9999/callback';
const SIGNED_OUT = 'http://127.0.0.1:9999/signed-out';
const PASSWORD = 'Correct-Horse-Battery-9';

let browser: Browser;

describe.runIf(hasChromium)('hosted sign-in in chromium', () => {
  const t = useTestApp({}, { live: true });
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with PKCE, then userinfo, refresh rotation and reuse detection, introspection, revocation and logout', async () => {
    const token = await t.platformToken();
    const tenant = await createTenant(t, {
      branding: { display_name: 'Browser Corp', primary_color: '#228833' },
    });
    const spa = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'WEB',
      allowedScopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [CALLBACK],
      postLogoutRedirectUris: [SIGNED_OUT],
    });
    const email = 'browser.user@example.com';
    await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token,
      body: { email, password: PASSWORD, display_name: 'Browser User', send_welcome_email: false },
    });
    const issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
    const config = await client.discovery(
      new URL(issuer),
      spa.id,
      undefined,
      client.ClientSecretBasic(spa.secret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'browser-state',
      prompt: 'consent',
    });

    const context = await browser.newContext();
    const page = await context.newPage();
    let callback: string | null = null;
    await page.route('http://127.0.0.1:9999/**', async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
    });
    await page.goto(url.href);
    expect(await page.title()).toContain('Browser Corp');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('not correct');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/127\.0\.0\.1:9999\/callback/);
    expect(callback).toContain('code=');

    const tokens = await client.authorizationCodeGrant(config, new URL(callback as unknown as string), {
      pkceCodeVerifier: verifier,
      expectedState: 'browser-state',
    });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ iss: issuer, client_id: spa.id, tenant_id: tenant.id });
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub as string);
    expect(info).toMatchObject({ email, name: 'Browser User' });
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

    expect((await client.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);
    await client.tokenRevocation(config, refreshed.access_token);
    expect((await client.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    // Reuse of the rotated refresh token revokes the family, and the access tokens of the sign-in.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);

    // RP-initiated logout in the browser, then the session is gone (prompt=none fails).
    await page.goto(
      client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token as string,
        post_logout_redirect_uri: SIGNED_OUT,
      }).href,
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/127\.0\.0\.1:9999\/signed-out/);
    const silent = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      prompt: 'none',
    });
    // The browser's own cookies, without following the redirect to the (absent) application.
    const answer = await context.request.get(silent.href, { maxRedirects: 0 });
    expect(answer.headers().location).toContain('error=login_required');
    await context.close();
  });
});

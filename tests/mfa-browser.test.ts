import { join } from 'node:path';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from './helpers/browser.js';
import { createTenant, insertApplication } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Two-step verification as a person meets it, in Debian's chromium: a tenant switched to
 * mfa_required leads its user through setting up an authenticator app at the next sign-in (the
 * test reads the key off the page, as a person types it into an app), the backup codes are shown
 * once, a later sign-in asks for a code, and an administrator ending the session ends the
 * browser's sign-in and its refresh token. With SCAIKEY_SCREENSHOTS=<folder> the enrollment page
 * is saved there (docs/images/mfa-enrollment.png is made this way).
 */
const CALLBACK = 'http://127.0.0.1:9999/callback';
const PASSWORD = 'Correct-Horse-Battery-9';

let browser: Browser;

describe.runIf(hasChromium)('two-step verification in chromium', () => {
  const t = useTestApp({}, { live: true });
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('enrolls an authenticator app when the tenant requires it, then asks for codes; a revoked session ends', async () => {
    const tenant = await createTenant(t, {
      name: 'Northwind Traders',
      branding: { display_name: 'Northwind', primary_color: '#2b5797' },
    });
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'WEB',
      allowedScopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [CALLBACK],
    });
    const email = 'ada@northwind.example';
    const created = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email,
      password: PASSWORD,
      display_name: 'Ada Lovelace',
      send_welcome_email: false,
    });
    expect(created.status).toBe(201);
    const userId = created.body.data.id as string;
    expect(
      (await t.patch(`/api/v1/admin/tenants/${tenant.id}`, { settings: { mfa_required: true } })).status,
    ).toBe(200);

    const issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
    const config = await client.discovery(
      new URL(issuer),
      app.id,
      undefined,
      client.ClientSecretBasic(app.secret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    let callback = '';
    await page.route('http://127.0.0.1:9999/**', async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
    });

    const signIn = async (tab: Page) => {
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid profile email offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      callback = '';
      await tab.goto(url.href);
      await tab.getByLabel('Email address').fill(email);
      await tab.getByLabel('Password').fill(PASSWORD);
      await tab.getByRole('button', { name: 'Sign in' }).click();
      return async () => {
        await tab.waitForURL(/127\.0\.0\.1:9999\/callback/);
        return client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier });
      };
    };

    // First sign-in: the set-up page, with a QR code and the key.
    const firstTokens = await signIn(page);
    await expect.poll(() => page.title()).toContain('Set up two-step verification');
    expect(await page.locator('.qr svg').count()).toBe(1);
    if (process.env.SCAIKEY_SCREENSHOTS) {
      await page.screenshot({
        path: join(process.env.SCAIKEY_SCREENSHOTS, 'mfa-enrollment.png'),
        fullPage: true,
      });
    }
    const secret = (await page.locator('#totp-secret').textContent()) as string;
    await page.getByLabel('Code from the app').fill('000000');
    await page.getByRole('button', { name: 'Turn on' }).first().click();
    expect(await page.getByRole('alert').textContent()).toContain('not valid');
    const code = (offset = 0) =>
      TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offset * 30_000 });
    await page.getByLabel('Code from the app').fill(code());
    await page.getByRole('button', { name: 'Turn on' }).first().click();
    await expect.poll(() => page.title()).toContain('Save your backup codes');
    expect(await page.locator('#backup-codes li').count()).toBe(10);
    await page.getByRole('button', { name: 'I saved them, continue' }).click();
    const tokens = await firstTokens();
    expect(decodeJwt(tokens.id_token as string).amr).toEqual(['pwd', 'otp', 'mfa']);

    // A later sign-in in a fresh browser asks for a code (the next step's: this one is spent).
    const other = await context.browser()?.newContext();
    const tab = await (other as NonNullable<typeof other>).newPage();
    await tab.route('http://127.0.0.1:9999/**', async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
    });
    const secondTokens = await signIn(tab);
    await expect.poll(() => tab.title()).toContain('Two-step verification');
    await tab.getByLabel('Code from your authenticator app').fill(code(1));
    await tab.getByRole('button', { name: 'Verify' }).click();
    const second = await secondTokens();
    expect(decodeJwt(second.id_token as string).acr).toBe('urn:scaikey:loa:2');
    await other?.close();

    // The administrator ends the first browser's session: its refresh token and its silent sign-in end.
    const sessions = await t.get(`/api/v1/admin/sessions/?user_id=${userId}`);
    expect(sessions.status).toBe(200);
    expect(sessions.body.data.length).toBe(2);
    for (const session of sessions.body.data as { id: string }[]) {
      expect((await t.delete(`/api/v1/admin/sessions/${session.id}`)).status).toBe(204);
    }
    await expect(client.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const silent = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      prompt: 'none',
    });
    const answer = await context.request.get(silent.href, { maxRedirects: 0 });
    expect(answer.headers().location).toContain('error=login_required');
    await context.close();
  });
});

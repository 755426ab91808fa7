import * as client from 'openid-client';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from './helpers/browser.js';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 11, item 7: the sign-out and provider pages look and behave like the login page (branding,
// CSP without script, no framing), every branding field is rendered, and the login page links to
// the password reset.

const CALLBACK = 'http://127.0.0.1:9999/callback';
const SIGNED_OUT = 'http://127.0.0.1:9999/signed-out';
const PASSWORD = 'Correct-Horse-Battery-9';
const LOGO = 'https://assets.example/brand/logo.png';
const FAVICON = 'https://assets.example/brand/favicon.png';
const BRANDING = {
  display_name: 'Pages Corp',
  primary_color: '#228833',
  background_color: '#fdf6e3',
  text_color: '#073642',
  logo_url: LOGO,
  favicon_url: FAVICON,
  support_email: 'help@pages.example',
};
// A 1×1 PNG: what the logo and favicon URLs answer inside the browser.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let browser: Browser;
let tenant: Tenant;
let config: client.Configuration;
let issuer: string;
const email = 'pages.user@example.com';

/** The headers every hosted page carries, and a CSP that runs no script at all. */
function expectPageHeaders(response: Response | null) {
  const headers = response?.headers() ?? {};
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['cache-control']).toContain('no-store');
  const csp = headers['content-security-policy'] ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain('img-src https:');
  // No script-src: default-src 'none' forbids every script, inline or not.
  expect(csp).not.toMatch(/script-src/);
  expect(csp).not.toContain("'unsafe-eval'");
}

/** The tenant's branding as the browser renders it: name, colours, logo and favicon loaded. */
async function expectBranded(page: Page) {
  expect(await page.title()).toContain('Pages Corp');
  // Evaluated in the page (a string: the test is compiled without the DOM's types).
  const style = (await page.evaluate(`(() => {
    const body = getComputedStyle(document.body);
    const button = document.querySelector('button');
    return {
      background: body.backgroundColor,
      color: body.color,
      button: button ? getComputedStyle(button).backgroundColor : null,
      scripts: document.scripts.length,
      icon: document.querySelector('link[rel="icon"]')?.getAttribute('href'),
      support: document.querySelector('a[href^="mailto:"]')?.textContent,
    };
  })()`)) as Record<string, unknown>;
  expect(style).toMatchObject({
    background: 'rgb(253, 246, 227)',
    color: 'rgb(7, 54, 66)',
    icon: FAVICON,
    support: 'help@pages.example',
    scripts: 0,
  });
  if (style.button !== null) expect(['rgb(34, 136, 51)', 'rgba(0, 0, 0, 0)']).toContain(style.button);
  const logo = page.locator(`img[src="${LOGO}"]`);
  await logo.waitFor();
  // Loaded, so the CSP let it through (a blocked image has no natural size).
  await page.waitForFunction(
    `(() => { const image = document.querySelector('img[src="${LOGO}"]'); return !!image && image.complete && image.naturalWidth === 1; })()`,
  );
}

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route('https://assets.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/png', body: PNG }),
  );
  const callbacks: string[] = [];
  await page.route('http://127.0.0.1:9999/**', async (route) => {
    callbacks.push(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'application' });
  });
  return { context, page, callbacks };
}

async function signIn(page: Page) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'pages',
  });
  return { response: await page.goto(url.href) };
}

describe.runIf(hasChromium)('hosted pages in chromium', () => {
  const t = useTestApp({}, { live: true });
  beforeAll(async () => {
    browser = await launchChromium();
    tenant = await createTenant(t, { branding: BRANDING });
    const web = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'WEB',
      allowedScopes: ['openid'],
      redirectUris: [CALLBACK],
      postLogoutRedirectUris: [SIGNED_OUT],
    });
    const created = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: await t.platformToken(),
      body: { email, password: PASSWORD, send_welcome_email: false },
    });
    expect(created.status).toBe(201);
    issuer = `${t.origin}/api/v1/auth/tenants/${tenant.slug}`;
    config = await client.discovery(
      new URL(issuer),
      web.id,
      undefined,
      client.ClientSecretBasic(web.secret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders the login page with every branding field and its headers', async () => {
    const { context, page } = await newPage();
    const { response } = await signIn(page);
    expectPageHeaders(response);
    await expectBranded(page);
    await context.close();
  });

  it('links "Forgot password?" from the login page to a working, branded page', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    const [response] = await Promise.all([
      page.waitForResponse(/\/forgot-password/),
      page.getByRole('link', { name: 'Forgot password?' }).click(),
    ]);
    expectPageHeaders(response);
    await expectBranded(page);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Send link' }).click();
    expect(await page.getByRole('status').textContent()).toContain('we sent it a link');
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByLabel('Password').waitFor();
    await context.close();
  });

  it('answers response_mode=form_post with a page whose only script is allowed by its hash', async () => {
    const { context, page, callbacks } = await newPage();
    const posted: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(CALLBACK) && request.method() === 'POST')
        posted.push(request.postData() ?? '');
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      response_mode: 'form_post',
      state: 'form-post',
    });
    await page.goto(url.href);
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    const [formPage] = await Promise.all([
      page.waitForResponse((response) => /\/oauth\/authorize\/[^/?]+$/.test(response.url())),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await page.waitForURL(CALLBACK);
    expect(callbacks.at(-1)).toBe(CALLBACK);
    expect(new URLSearchParams(posted.at(-1)).get('state')).toBe('form-post');
    expect(new URLSearchParams(posted.at(-1)).get('code')).toBeTruthy();
    const csp = (await formPage.allHeaders())['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'$/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    await context.close();
  });

  it('branded sign-out confirmation without script; clicking "Sign out" ends the session', async () => {
    const { context, page, callbacks } = await newPage();
    await signIn(page);
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/127\.0\.0\.1:9999\/callback/);
    expect(new URL(callbacks.at(-1) as string).searchParams.get('code')).toBeTruthy();

    const logout = await page.goto(
      client.buildEndSessionUrl(config, {
        client_id: config.clientMetadata().client_id,
        post_logout_redirect_uri: SIGNED_OUT,
      }).href,
    );
    expect(logout?.status()).toBe(200);
    expectPageHeaders(logout);
    await expectBranded(page);
    expect(await page.getByRole('heading').textContent()).toBe('Sign out');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/127\.0\.0\.1:9999\/signed-out/);

    // The session is gone: a new authorization request shows the login form again.
    await signIn(page);
    await page.getByLabel('Password').waitFor();
    await context.close();
  });

  it('answers a sign-out without a session with a branded page and a button, not a script', async () => {
    const { context, page } = await newPage();
    const response = await page.goto(
      client.buildEndSessionUrl(config, {
        client_id: config.clientMetadata().client_id,
        post_logout_redirect_uri: SIGNED_OUT,
      }).href,
    );
    expectPageHeaders(response);
    await expectBranded(page);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/127\.0\.0\.1:9999\/signed-out/);
    await context.close();
  });

  it('shows the signed-out page branded when no application is named', async () => {
    const { context, page } = await newPage();
    await page.goto(`${issuer}/oauth/logout`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/oauth\/logout\/success/);
    expect(await page.getByRole('status').textContent()).toContain('signed out');
    await expectBranded(page);
    await context.close();
  });

  it('renders a provider error (unknown client) like the login page', async () => {
    const { context, page } = await newPage();
    const response = await page.goto(
      `${issuer}/oauth/authorize?client_id=app_unknown000000000000&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(CALLBACK)}`,
    );
    expect(response?.status()).toBe(400);
    expectPageHeaders(response);
    await expectBranded(page);
    expect(await page.getByRole('alert').textContent()).toContain('client');
    await context.close();
  });
});

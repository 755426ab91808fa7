import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relyingParty } from '../src/modules/mfa/index.js';
import { hasChromium, launchChromium, TestBrowser } from './helpers/browser.js';
import { createTenant, insertApplication, type Tenant } from './helpers/factories.js';
import { moment } from './helpers/moment.js';
import { authorizationRequest } from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Passkeys (issue 13; docs/api-decisions.md, "Passkeys"): registration through the self-service API
 * and the forced-enrollment page, a passkey as the second factor, and the sign-in with a passkey
 * alone, driven in chromium with a CDP virtual authenticator. The app's public URL is
 * http://localhost:<port> (a secure context and a valid RP ID; 127.0.0.1 is not an RP ID).
 */
const t = useTestApp({}, { live: true, liveHostname: 'localhost' });
const CALLBACK = 'http://127.0.0.1:9999/callback';
const PASSWORD = 'Correct-Horse-Battery-9';
const SCOPE = 'openid profile email';
const ACR_MFA = 'urn:scaikey:loa:2';

interface Realm {
  tenant: Tenant;
  config: client.Configuration;
}

async function realm(settings: Record<string, unknown> = {}, existing?: Tenant): Promise<Realm> {
  const tenant = existing ?? (await createTenant(t, { settings }));
  const web = await insertApplication(t, {
    assignmentRequired: !!existing,
    scope: 'TENANT',
    partnerId: tenant.partner_id,
    tenantId: tenant.id,
    type: 'WEB',
    allowedScopes: ['openid', 'profile', 'email'],
    redirectUris: [CALLBACK],
  });
  const config = await client.discovery(
    new URL(`${t.origin}/api/v1/auth/tenants/${tenant.slug}`),
    web.id,
    undefined,
    client.ClientSecretBasic(web.secret),
    { execute: [client.allowInsecureRequests] },
  );
  return { tenant, config };
}

let n = 0;
async function createUser(r: Realm) {
  const response = await t.post(`/api/v1/tenants/${r.tenant.id}/users`, {
    email: `passkey-${++n}-${Date.now()}@acme.example`,
    password: PASSWORD,
    first_name: 'Pia',
    last_name: 'Key',
    send_welcome_email: false,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.data as { id: string; email: string };
}

/** An authorization request (PKCE) and the exchange of the code it ends with. */
async function authorization(r: Realm, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(r.config, { redirect_uri: CALLBACK, scope: SCOPE, ...extra });
  return {
    url: request.url,
    tokens: (callback: string | null) => {
      expect(callback).toMatch(/^http:\/\/127\.0\.0\.1:9999\/callback\?code=/);
      return request.tokens(callback);
    },
  };
}

/** A user's access token from a password-only sign-in (no factor yet), over HTTP. */
async function passwordToken(r: Realm, email: string): Promise<string> {
  const browser = new TestBrowser(t.origin);
  const flow = await authorization(r);
  const page = await browser.follow(flow.url);
  const done = await browser.submitForm(page, { email, password: PASSWORD });
  return (await flow.tokens(done.location)).access_token;
}

const VIRTUAL_AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

let browser: Browser;

// What the code run inside chromium (page.evaluate) uses of the page's globals: this project's
// TypeScript has no DOM library.
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies and WebAuthn values read field by field.
type AnyJson = any;
declare const document: { querySelector(selector: string): PageForm };
declare const navigator: {
  credentials: { create(o: object): Promise<PageCredential>; get(o: object): Promise<PageCredential> };
};
declare const PublicKeyCredential: {
  parseCreationOptionsFromJSON(json: unknown): object;
  parseRequestOptionsFromJSON(json: unknown): object;
};
interface PageCredential {
  toJSON(): AnyJson;
}
interface PageForm {
  dataset: Record<string, string>;
  elements: { namedItem(name: string): { value: string } };
  submit(): void;
}

interface Device {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  /** The application's callback URL, once the browser was sent there. */
  callback: () => string | null;
  /** Resolves when the browser reaches the callback. */
  reachedCallback: () => Promise<void>;
}

/**
 * A fresh browser context with a virtual authenticator (CDP WebAuthn domain); `credentials` are
 * those of another device's authenticator (the same passkey, as a synced or a moved key would be).
 */
async function device(options: Record<string, unknown> = {}, credentials: unknown[] = []): Promise<Device> {
  const context = await browser.newContext();
  const page = await context.newPage();
  let callback: string | null = null;
  const arrival = moment();
  await page.route('http://127.0.0.1:9999/**', async (route) => {
    callback = route.request().url();
    arrival.reach();
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { ...VIRTUAL_AUTHENTICATOR, ...options } as never,
  });
  for (const credential of credentials) {
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential as never });
  }
  return {
    context,
    page,
    cdp,
    authenticatorId,
    callback: () => callback,
    reachedCallback: () => arrival.reached,
  };
}

/** The page's error message, once the page that shows one has loaded. */
async function alertText(page: Page): Promise<string> {
  const alert = page.getByRole('alert');
  await alert.waitFor();
  return (await alert.textContent()) ?? '';
}

const credentialsOf = async (d: Device) =>
  (await d.cdp.send('WebAuthn.getCredentials', { authenticatorId: d.authenticatorId })).credentials;

/**
 * Registers a passkey through the self-service API from inside the page (fetch, then
 * navigator.credentials.create), as an account page's script would. `tamper` changes the
 * credential's JSON before it is sent (a response for another origin).
 */
async function registerInPage(
  d: Device,
  token: string,
  options: { name?: string; staleChallenge?: boolean; origin?: string } = {},
) {
  await d.page.goto(`${t.origin}/api/v1/health`);
  return d.page.evaluate(
    async ({ token, name, staleChallenge, origin }) => {
      const call = async (path: string, body?: unknown) => {
        const answer = await fetch(path, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body ?? {}),
        });
        return { status: answer.status, body: (await answer.json()) as AnyJson };
      };
      const options = await call('/api/v1/me/mfa/webauthn/register/options');
      if (options.status !== 200) return { options, verify: null };
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body.data);
      let credential: PageCredential;
      try {
        credential = await navigator.credentials.create({ publicKey });
      } catch (error) {
        return { options, verify: null, refusedBy: (error as Error).name };
      }
      const json = credential.toJSON();
      // A newer registration replaces the challenge this credential signed.
      if (staleChallenge) await call('/api/v1/me/mfa/webauthn/register/options');
      if (origin) {
        const b64 = (text: string) => btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
        const fromB64 = (value: string) => atob(value.replaceAll('-', '+').replaceAll('_', '/'));
        const clientData = JSON.parse(fromB64(json.response.clientDataJSON));
        json.response.clientDataJSON = b64(JSON.stringify({ ...clientData, origin }));
      }
      const verify = await call('/api/v1/me/mfa/webauthn/register/verify', { response: json, name });
      return { options, verify, json };
    },
    { token, name: options.name, staleChallenge: options.staleChallenge ?? false, origin: options.origin },
  );
}

/**
 * Calls the self-service API from inside the page with the user's token: `path` with `body`
 * (`assertion: true` first gets presence options and puts the passkey's assertion in the body's
 * `webauthn`; `forge` signs a challenge the server did not issue).
 */
async function callWithAssertion(
  d: Device,
  token: string,
  request: {
    method: string;
    path: string;
    body?: Record<string, unknown>;
    assertion?: boolean;
    forge?: boolean;
  },
) {
  await d.page.goto(`${t.origin}/api/v1/health`);
  return d.page.evaluate(
    async ({ token, request }) => {
      const call = async (method: string, path: string, body?: unknown) => {
        const answer = await fetch(path, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body ?? {}),
        });
        return { status: answer.status, body: (await answer.json()) as AnyJson };
      };
      let webauthn: AnyJson;
      if (request.assertion) {
        const options = await call('POST', '/api/v1/me/mfa/webauthn/reauthenticate/options');
        if (options.status !== 200) return { options, result: null, webauthn: null };
        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.body.data);
        const challenge = request.forge ? { challenge: crypto.getRandomValues(new Uint8Array(32)) } : {};
        const credential = await navigator.credentials.get({ publicKey: { ...publicKey, ...challenge } });
        webauthn = credential.toJSON();
      }
      const body = webauthn ? { ...request.body, webauthn } : request.body;
      return { result: await call(request.method, request.path, body), webauthn };
    },
    { token, request },
  );
}

async function factorRows(userId: string) {
  return t.database.db
    .selectFrom('mfa_factors')
    .selectAll()
    .where('user_id', '=', userId)
    .where('factor_type', '=', 'WEBAUTHN')
    .execute();
}

async function auditOf(userId: string) {
  const rows = await t.database.db
    .selectFrom('audit_events')
    .select(['action', 'result', 'after'])
    .where('resource_id', '=', userId)
    .execute();
  return rows.map((row) => ({
    action: `${row.action}:${row.result}`,
    after: (typeof row.after === 'string' ? JSON.parse(row.after) : row.after) as Record<string, unknown>,
  }));
}

describe('relying party', () => {
  it('is the public URL’s host and origin; an IP address cannot be an RP ID', () => {
    expect(relyingParty('https://id.example.com/base')).toEqual({
      id: 'id.example.com',
      origin: 'https://id.example.com',
      usable: true,
    });
    expect(relyingParty('http://localhost:8080')).toMatchObject({ id: 'localhost', usable: true });
    expect(relyingParty('http://127.0.0.1:8080').usable).toBe(false);
    expect(relyingParty('http://[::1]:8080').usable).toBe(false);
  });
});

describe('passkey registration API', () => {
  it('gives creation options for a discoverable credential with user verification, RP ID from the public URL', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const options = await t.post('/api/v1/me/mfa/webauthn/register/options', undefined, { token });
    expect(options.status).toBe(200);
    expect(options.headers['cache-control']).toContain('no-store');
    expect(options.body.data).toMatchObject({
      rp: { id: 'localhost' },
      user: { name: user.email, displayName: 'Pia Key' },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: [],
      attestation: 'none',
    });
    expect(options.body.data.challenge).toMatch(/^[\w-]{16,}$/);
    const challenge = await t.database.db
      .selectFrom('mfa_challenges')
      .select(['purpose', 'webauthn_challenge', 'expires_at'])
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(challenge).toMatchObject({
      purpose: 'ENROLL_WEBAUTHN',
      webauthn_challenge: options.body.data.challenge,
    });
    const lifetime = new Date(challenge.expires_at).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(4 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(5 * 60_000);

    // Garbage is a 400 with the WebAuthn code (a well-formed but unverifiable response) or a 422.
    const garbage = await t.post(
      '/api/v1/me/mfa/webauthn/register/verify',
      {
        response: {
          id: 'AAAA',
          rawId: 'AAAA',
          type: 'public-key',
          response: {
            clientDataJSON: Buffer.from(
              JSON.stringify({ type: 'webauthn.create', challenge: options.body.data.challenge }),
            ).toString('base64url'),
            attestationObject: 'AAAA',
          },
        },
      },
      { token },
    );
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe('WEBAUTHN_VERIFICATION_FAILED');
    const shapeless = await t.post('/api/v1/me/mfa/webauthn/register/verify', { response: 'x' }, { token });
    expect(shapeless.status).toBe(422);
    expect(await factorRows(user.id)).toEqual([]);
  });

  it('is refused with 409 where the tenant does not allow webauthn', async () => {
    const r = await realm({ mfa_methods: ['totp', 'email'] });
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const options = await t.post('/api/v1/me/mfa/webauthn/register/options', undefined, { token });
    expect(options.status).toBe(409);
    expect(options.body.code).toBe('MFA_METHOD_NOT_ALLOWED');
    const verify = await t.post(
      '/api/v1/me/mfa/webauthn/register/verify',
      { response: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'e30' } } },
      { token },
    );
    expect(verify.status).toBe(409);
  });

  it('serves the pages’ script; the sign-in page loads it under a CSP that allows only its own origin', async () => {
    const r = await realm();
    const script = await fetch(`${t.origin}/api/v1/auth/tenants/${r.tenant.slug}/passkeys.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    const text = await script.text();
    expect(text).toContain('SimpleWebAuthnBrowser');
    expect(text).toContain('data-passkey');

    const browser = new TestBrowser(t.origin);
    const page = await browser.follow((await authorization(r)).url);
    expect(page.body).toContain('Sign in with a passkey');
    expect(page.body).toContain(`<script src="/api/v1/auth/tenants/${r.tenant.slug}/passkeys.js" defer>`);
    const response = await fetch(page.url, {
      headers: { cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    const csp = response.headers.get('content-security-policy') as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline'; script");

    // Without webauthn the page has no passkey button and no script at all.
    const closed = await realm({ mfa_methods: ['totp'] });
    const other = new TestBrowser(t.origin);
    const plain = await other.follow((await authorization(closed)).url);
    expect(plain.body).toContain('name="password"');
    expect(plain.body).not.toContain('passkey');
    expect(plain.body).not.toContain('<script');
  });
});

describe.runIf(hasChromium)('passkeys in chromium (CDP virtual authenticator)', () => {
  beforeAll(async () => {
    // The app listens on 127.0.0.1 only; chromium would also try ::1 for localhost.
    browser = await launchChromium(['--host-resolver-rules=MAP localhost 127.0.0.1']);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('registers a passkey through the API, then signs in with it alone in a fresh browser: amr hwk+mfa, acr loa:2', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const laptop = await device();
    const registered = await registerInPage(laptop, token, { name: 'Laptop' });
    expect(registered.verify?.status).toBe(200);
    const { factor, backup_codes } = registered.verify?.body.data ?? {};
    expect(factor).toMatchObject({ type: 'webauthn', name: 'Laptop', confirmed: true });
    expect(backup_codes).toHaveLength(10);
    const overview = await t.get('/api/v1/me/mfa', { token });
    expect(overview.body.data).toMatchObject({ mfa_enabled: true, backup_codes_remaining: 10 });

    // What is stored: the credential id, its public key, counter, transports, aaguid, backup flags.
    const [row] = await factorRows(user.id);
    expect(row?.credential_id).toBe(registered.json.id);
    expect(row?.credential).toMatchObject({
      public_key: expect.stringMatching(/^[\w-]+$/),
      counter: expect.any(Number),
      transports: expect.any(Array),
      aaguid: expect.any(String),
      device_type: 'singleDevice',
      backed_up: false,
    });
    // The challenge was spent.
    const open = await t.database.db
      .selectFrom('mfa_challenges')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(open).toEqual([]);

    // A second registration excludes the first authenticator: the same device cannot enroll twice.
    const twice = await registerInPage(laptop, token);
    expect(twice.options.body.data.excludeCredentials).toEqual([
      expect.objectContaining({ id: registered.json.id }),
    ]);
    expect(twice.verify).toBeNull();
    expect(twice.refusedBy).toBe('InvalidStateError');
    expect(await factorRows(user.id)).toHaveLength(1);
    await laptop.context.close();
  });

  it('signs in with a passkey alone in a fresh browser: amr hwk+mfa, acr loa:2; counter and audit', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const laptop = await device();
    expect((await registerInPage(laptop, token)).verify?.status).toBe(200);
    const credentials = await credentialsOf(laptop);
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.isResidentCredential).toBe(true);
    await laptop.context.close();

    // The same authenticator in a fresh browser context: no session, no password.
    const fresh = await device({}, credentials);
    const flow = await authorization(r);
    await fresh.page.goto(flow.url);
    await fresh.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await fresh.reachedCallback();
    const tokens = await flow.tokens(fresh.callback());
    const id = decodeJwt(tokens.id_token as string);
    expect(id.sub).toBe(user.id);
    expect(id.amr).toEqual(['hwk', 'mfa']);
    expect(id.acr).toBe(ACR_MFA);
    const [row] = await factorRows(user.id);
    expect(row?.last_used_at).not.toBeNull();
    // The virtual authenticator counts its signatures: the stored counter moved forward.
    const before = credentials[0]?.signCount ?? 0;
    expect(Number((row?.credential as { counter?: number } | undefined)?.counter)).toBeGreaterThan(before);
    const audit = await auditOf(user.id);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'user.login:SUCCESS',
        after: expect.objectContaining({ method: 'passkey' }),
      }),
    );
    await fresh.context.close();
  });

  it('refuses a passkey of another tenant’s user, and an assertion for a challenge it did not issue', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const fresh = await device();
    expect((await registerInPage(fresh, token)).verify?.status).toBe(200);

    // Another tenant shares the RP ID, so the authenticator offers the passkey there too: refused.
    const other = await realm();
    const elsewhere = await authorization(other);
    await fresh.page.goto(elsewhere.url);
    await fresh.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect(await alertText(fresh.page)).toContain('not registered for an account here');

    // An assertion for a challenge this interaction did not issue is refused.
    const again = await authorization(r);
    await fresh.page.goto(again.url);
    const status = await fresh.page.evaluate(async () => {
      const form = document.querySelector('form[data-passkey]');
      const options = await fetch(form.dataset.optionsUrl as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const { data } = (await options.json()) as AnyJson;
      const forged = crypto.getRandomValues(new Uint8Array(32));
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(data);
      const credential = await navigator.credentials.get({ publicKey: { ...publicKey, challenge: forged } });
      form.elements.namedItem('response').value = JSON.stringify(credential.toJSON());
      setTimeout(() => form.submit(), 0);
      return options.status;
    });
    expect(status).toBe(200);
    expect(await alertText(fresh.page)).toContain('expired');
    expect(fresh.callback()).toBeNull();
    const audit = await auditOf(user.id);
    // (the password sign-in that got the API token is the only login)
    expect(audit.filter((entry) => entry.action === 'user.login:SUCCESS')).toEqual([
      expect.objectContaining({ after: expect.objectContaining({ method: 'password' }) }),
    ]);
    await fresh.context.close();
  });

  it('a passkey alone still needs the assignment an application requires', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const d = await device();
    expect((await registerInPage(d, token)).verify?.status).toBe(200);
    // A second application of the same tenant that signs in only its assigned users.
    const restricted = await realm({}, r.tenant);
    const flow = await authorization(restricted);
    await d.page.goto(flow.url);
    await d.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await d.reachedCallback();
    expect(new URL(d.callback() as string).searchParams.get('error')).toBe('access_denied');
    const audit = await auditOf(user.id);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'user.login_failed:FAILURE',
        after: expect.objectContaining({ reason: 'not assigned to the application' }),
      }),
    );
    await d.context.close();
  });

  it('uses a passkey as the second factor after the password: amr pwd+hwk+mfa', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const key = await device();
    expect((await registerInPage(key, token, { name: 'Security key' })).verify?.status).toBe(200);

    const flow = await authorization(r);
    await key.page.goto(flow.url);
    await key.page.getByLabel('Email address').fill(user.email);
    await key.page.getByLabel('Password').fill(PASSWORD);
    await key.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await key.page.getByRole('button', { name: 'Use your passkey or security key' }).click();
    await key.reachedCallback();
    const id = decodeJwt((await flow.tokens(key.callback())).id_token as string);
    expect(id.amr).toEqual(['pwd', 'hwk', 'mfa']);
    expect(id.acr).toBe(ACR_MFA);
    const audit = await auditOf(user.id);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'user.mfa_verified:SUCCESS',
        after: expect.objectContaining({ method: 'webauthn' }),
      }),
    );
    await key.context.close();
  });

  it('refuses a registration response for another challenge or origin, and enrolls nothing half-way', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const d = await device();
    const stale = await registerInPage(d, token, { staleChallenge: true });
    expect(stale.verify?.status).toBe(400);
    expect(stale.verify?.body.code).toBe('WEBAUTHN_VERIFICATION_FAILED');
    const foreign = await registerInPage(d, token, { origin: 'https://evil.example' });
    expect(foreign.verify?.status).toBe(400);
    expect(foreign.verify?.body.code).toBe('WEBAUTHN_VERIFICATION_FAILED');
    expect(foreign.verify?.body.detail).toMatch(/origin/i);
    expect(await factorRows(user.id)).toEqual([]);
    const overview = await t.get('/api/v1/me/mfa', { token });
    expect(overview.body.data).toMatchObject({ mfa_enabled: false, factors: [], backup_codes_remaining: 0 });
    await d.context.close();
  });

  it('offers “Set up a passkey” on the forced enrollment page, then signs in with the new passkey', async () => {
    const r = await realm({ mfa_required: true });
    const user = await createUser(r);
    const d = await device();
    const flow = await authorization(r);
    await d.page.goto(flow.url);
    await d.page.getByLabel('Email address').fill(user.email);
    await d.page.getByLabel('Password').fill(PASSWORD);
    await d.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await d.page.getByRole('button', { name: 'Set up a passkey' }).click();
    await d.page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
    await d.page.getByRole('button', { name: /continue/i }).click();
    await d.reachedCallback();
    const id = decodeJwt((await flow.tokens(d.callback())).id_token as string);
    expect(id.amr).toEqual(['pwd', 'hwk', 'mfa']);
    expect(id.acr).toBe(ACR_MFA);
    expect(await factorRows(user.id)).toHaveLength(1);
    await d.context.close();
  });

  it('a synced passkey (backup eligible) signs in with amr swk', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const synced = await device({ defaultBackupEligibility: true, defaultBackupState: true });
    expect((await registerInPage(synced, token)).verify?.status).toBe(200);
    const [row] = await factorRows(user.id);
    expect(row?.credential).toMatchObject({ device_type: 'multiDevice', backed_up: true });
    const flow = await authorization(r);
    const fresh = await device(
      { defaultBackupEligibility: true, defaultBackupState: true },
      await credentialsOf(synced),
    );
    await synced.context.close();
    await fresh.page.goto(flow.url);
    await fresh.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await fresh.reachedCallback();
    const id = decodeJwt((await flow.tokens(fresh.callback())).id_token as string);
    expect(id.amr).toEqual(['swk', 'mfa']);
    await fresh.context.close();
  });

  it('a tenant that stops allowing webauthn neither offers nor accepts passkeys', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const d = await device();
    const registered = await registerInPage(d, token);
    expect(registered.verify?.status).toBe(200);
    const patched = await t.patch(`/api/v1/admin/tenants/${r.tenant.id}`, {
      settings: { mfa_methods: ['totp', 'email'] },
    });
    expect(patched.status).toBe(200);

    const flow = await authorization(r);
    await d.page.goto(flow.url);
    await d.page.getByLabel('Password').waitFor();
    expect(await d.page.getByRole('button', { name: 'Sign in with a passkey' }).count()).toBe(0);
    // The options route and the passkey form post are refused too.
    // (the page's CSP lets no script fetch: the browser's request context, with its cookies)
    const refused = await d.context.request.post(`${d.page.url()}/passkey/options`, { data: {} });
    expect(refused.status()).toBe(409);
    expect((await refused.json()).code).toBe('MFA_METHOD_NOT_ALLOWED');
    const csrf = await d.page.locator('input[name="csrf"]').first().inputValue();
    const posted = await d.page.request.post(`${d.page.url()}/passkey`, {
      form: { csrf, response: JSON.stringify(registered.json) },
      maxRedirects: 0,
    });
    expect(posted.status()).toBe(409);

    // The password alone signs in now (the passkey is not a usable factor any more).
    await d.page.getByLabel('Email address').fill(user.email);
    await d.page.getByLabel('Password').fill(PASSWORD);
    await d.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await d.reachedCallback();
    const id = decodeJwt((await flow.tokens(d.callback())).id_token as string);
    expect(id.amr).toEqual(['pwd']);
    await d.context.close();
  });
  it('the account page registers a named passkey (its script, under the script CSP), lists it and removes it with itself', async () => {
    const r = await realm();
    const user = await createUser(r);
    const d = await device();
    const accountUrl = `${t.origin}/api/v1/auth/tenants/${r.tenant.slug}/account`;
    await d.page.goto(accountUrl);
    await d.page.getByLabel('Email address').fill(user.email);
    await d.page.getByLabel('Password').fill(PASSWORD);
    await d.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await d.page.getByRole('heading', { name: 'Your account' }).waitFor();
    const shown = await d.page.goto(accountUrl);
    const csp = shown?.headers()['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline'; script");

    await d.page.getByLabel('Name of the new passkey').fill('Work laptop');
    await d.page.getByRole('button', { name: 'Add a passkey' }).click();
    await d.page.getByRole('heading', { name: 'Your backup codes' }).waitFor();
    const backupCodes = await d.page.locator('li code').allTextContents();
    expect(backupCodes).toHaveLength(10);
    const [row] = await factorRows(user.id);
    expect(row).toMatchObject({ label: 'Work laptop' });
    expect(row?.confirmed_at).not.toBeNull();
    expect((await credentialsOf(d))[0]?.isResidentCredential).toBe(true);

    // Listed; the same authenticator cannot be added twice (the browser refuses: the page says so).
    await d.page.goto(accountUrl);
    await d.page.getByText('Work laptop').waitFor();
    expect(await d.page.locator('#factors').textContent()).toContain('(passkey)');
    await d.page.getByRole('button', { name: 'Add a passkey' }).click();
    const status = d.page.locator('#passkey-form [data-passkey-status]');
    await status.waitFor();
    expect(await status.textContent()).toMatch(/passkey/i);
    expect(await factorRows(user.id)).toHaveLength(1);

    // Removed confirming with the passkey itself (no code), from its list entry.
    await d.page.getByRole('button', { name: 'Remove, confirming with a passkey' }).click();
    await d.page.getByText('The factor was removed.').waitFor();
    expect(await factorRows(user.id)).toEqual([]);
    const audit = (await auditOf(user.id)).map((entry) => entry.action);
    expect(audit).toEqual(
      expect.arrayContaining(['user.mfa_factor_added:SUCCESS', 'user.mfa_factor_removed:SUCCESS']),
    );
    await d.context.close();
  });

  it('the account page offers no passkey where the tenant does not allow webauthn', async () => {
    const r = await realm({ mfa_methods: ['totp', 'email'] });
    const user = await createUser(r);
    const browserOverHttp = new TestBrowser(t.origin);
    const signInPage = await browserOverHttp.follow(
      `${t.origin}/api/v1/auth/tenants/${r.tenant.slug}/account`,
    );
    const page = await browserOverHttp.submitForm(signInPage, { email: user.email, password: PASSWORD });
    expect(page.body).toContain('id="totp-form"');
    // (the user's address has the word in it)
    expect(page.body).not.toContain('Add a passkey');
    expect(page.body).not.toContain('data-passkey');
    expect(page.body).not.toContain('<script');
  });
  it('removes a passkey with an assertion of any of the user’s passkeys, the removed one too; not twice, not for a foreign challenge', async () => {
    const r = await realm();
    const user = await createUser(r);
    const token = await passwordToken(r, user.email);
    const laptop = await device();
    const phone = await device();
    expect((await registerInPage(laptop, token, { name: 'Laptop' })).verify?.status).toBe(200);
    expect((await registerInPage(phone, token, { name: 'Phone' })).verify?.status).toBe(200);
    const rows = await factorRows(user.id);
    const laptopId = rows.find((row) => row.label === 'Laptop')?.id as string;
    const phoneId = rows.find((row) => row.label === 'Phone')?.id as string;

    // Neither a code nor an assertion: 422.
    const empty = await callWithAssertion(phone, token, {
      method: 'DELETE',
      path: `/api/v1/me/mfa/factors/${laptopId}`,
    });
    expect(empty.result?.status).toBe(422);
    // An assertion for a challenge the server did not issue: 400, nothing removed.
    const forged = await callWithAssertion(phone, token, {
      method: 'DELETE',
      path: `/api/v1/me/mfa/factors/${laptopId}`,
      assertion: true,
      forge: true,
    });
    expect(forged.result?.status).toBe(400);
    expect(forged.result?.body.code).toBe('WEBAUTHN_VERIFICATION_FAILED');
    expect(await factorRows(user.id)).toHaveLength(2);

    // The phone's passkey removes the laptop's.
    const removed = await callWithAssertion(phone, token, {
      method: 'DELETE',
      path: `/api/v1/me/mfa/factors/${laptopId}`,
      assertion: true,
    });
    expect(removed.result?.status).toBe(200);
    expect((await factorRows(user.id)).map((row) => row.id)).toEqual([phoneId]);
    // The same assertion again (its challenge spent): refused.
    const replayed = await callWithAssertion(phone, token, {
      method: 'DELETE',
      path: `/api/v1/me/mfa/factors/${phoneId}`,
      body: { webauthn: removed.webauthn },
    });
    expect(replayed.result?.status).toBe(400);
    expect(replayed.result?.body.code).toBe('WEBAUTHN_VERIFICATION_FAILED');

    // The phone's passkey removes itself: the last factor, MFA off.
    const itself = await callWithAssertion(phone, token, {
      method: 'DELETE',
      path: `/api/v1/me/mfa/factors/${phoneId}`,
      assertion: true,
    });
    expect(itself.result?.status).toBe(200);
    expect(itself.result?.body.data).toMatchObject({ mfa_enabled: false, factors: [] });
    const audit = (await auditOf(user.id)).map((entry) => entry.action);
    expect(audit.filter((action) => action === 'user.mfa_factor_removed:SUCCESS')).toHaveLength(2);
    expect(audit).toContain('user.mfa_disabled:SUCCESS');

    // Without a passkey left there is nothing to assert with.
    const none = await callWithAssertion(phone, token, {
      method: 'DELETE',
      path: `/api/v1/me/mfa/factors/${phoneId}`,
      assertion: true,
    });
    expect(none.options?.status).toBe(409);
    expect(none.options?.body.code).toBe('MFA_NOT_ENROLLED');
    await laptop.context.close();
    await phone.context.close();
  });
});

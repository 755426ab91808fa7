import * as client from 'openid-client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TestBrowser } from './helpers/browser.js';
import { createTenant, insertWebApplication, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 10, items 2, 14 and 18: the lockout locks on every threshold crossing, checks at most the
// threshold of parallel guesses, and never tells anyone but the password's owner that it is locked.

const t = useTestApp({}, { live: true });
let tenant: Tenant;
let conf: client.Configuration;
const CALLBACK = 'http://127.0.0.1:9/callback';
const PASSWORD = 'Correct-Horse-Battery-9';
const WRONG_MESSAGE = 'The email address or the password is not correct.';
const MAX_ATTEMPTS = 3;

beforeAll(async () => {
  tenant = await createTenant(t, {
    settings: { lockout: { max_failed_attempts: MAX_ATTEMPTS, lockout_minutes: 5 } },
  });
  const app = await insertWebApplication(t, tenant, ['openid'], [CALLBACK]);
  conf = await client.discovery(
    new URL(`${t.origin}/api/v1/auth/tenants/${tenant.slug}`),
    app.id,
    undefined,
    client.ClientSecretBasic(app.secret),
    { execute: [client.allowInsecureRequests] },
  );
});
afterEach(() => {
  vi.useRealTimers();
});

let n = 0;
async function createUser() {
  const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
    email: `lockout-${++n}@acme.example`,
    password: PASSWORD,
    send_welcome_email: false,
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.data as { id: string; email: string };
}

/** Opens the hosted login page of a new authorization request. */
async function loginPage(browser = new TestBrowser(t.origin)) {
  const url = client.buildAuthorizationUrl(conf, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const page = await browser.follow(url.href);
  expect(page.status).toBe(200);
  return { browser, page };
}

async function attempt(email: string, password: string) {
  const { browser, page } = await loginPage();
  return browser.submitForm(page, { email, password });
}

/** The sign-in message of a login page answer (the form around it repeats the typed email). */
const messageOf = (body: string) => /<p class="error"[^>]*>([^<]*)<\/p>/.exec(body)?.[1] ?? null;

async function userRow(id: string) {
  return t.database.db
    .selectFrom('users')
    .select(['status', 'locked_until', 'failed_login_attempts'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

/** Moves the clock of the server (this process) forward; only Date is faked, timers run as usual. */
function advanceClock(minutes: number) {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now + minutes * 60_000);
}

describe('lockout', () => {
  it('locks again at every threshold crossing after a lock expires (item 2)', async () => {
    const user = await createUser();
    for (let i = 0; i < MAX_ATTEMPTS; i++) expect((await attempt(user.email, 'wrong-1')).status).toBe(401);
    expect((await userRow(user.id)).status).toBe('LOCKED');

    advanceClock(6);
    for (let i = 0; i < MAX_ATTEMPTS; i++) expect((await attempt(user.email, 'wrong-2')).status).toBe(401);
    const relocked = await userRow(user.id);
    expect(relocked.status).toBe('LOCKED');
    expect(relocked.locked_until?.getTime()).toBeGreaterThan(Date.now());
    // The right password does not get through the new lock...
    const refused = await attempt(user.email, PASSWORD);
    expect(refused.status).toBe(401);
    expect(messageOf(refused.body)).toBe(WRONG_MESSAGE);

    // ...and signs in once it has expired, with a fresh count.
    advanceClock(6);
    const signedIn = await attempt(user.email, PASSWORD);
    expect(signedIn.location).toMatch(/code=/);
    expect(await userRow(user.id)).toMatchObject({ status: 'ACTIVE', failed_login_attempts: 0 });
    const locks = await t.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('resource_id', '=', user.id)
      .where('action', '=', 'user.locked')
      .execute();
    expect(locks).toHaveLength(2);
  });

  it('checks at most the threshold of 30 parallel guesses (item 14)', async () => {
    const user = await createUser();
    const pages = [];
    for (let i = 0; i < 30; i++) pages.push(await loginPage());
    const answers = await Promise.all(
      pages.map(({ browser, page }, i) =>
        browser.submitForm(page, { email: user.email, password: `guess-${i}` }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(messageOf(answer.body)).toBe(WRONG_MESSAGE);
    }
    const checked = await t.database.db
      .selectFrom('audit_events')
      .select('after')
      .where('resource_id', '=', user.id)
      .where('action', '=', 'user.login_failed')
      .execute();
    const reasons = checked.map((row) => (row.after as { reason: string }).reason);
    expect(reasons.filter((reason) => reason === 'wrong password')).toHaveLength(MAX_ATTEMPTS);
    expect(reasons.filter((reason) => reason === 'locked')).toHaveLength(30 - MAX_ATTEMPTS);
    expect((await userRow(user.id)).status).toBe('LOCKED');
  });

  it('answers a locked account exactly like a wrong password (item 18)', async () => {
    const user = await createUser();
    const unknown = await attempt('nobody-here@acme.example', 'whatever-password');
    expect(messageOf(unknown.body)).toBe(WRONG_MESSAGE);
    for (let i = 0; i < MAX_ATTEMPTS; i++) await attempt(user.email, 'wrong-3');
    expect((await userRow(user.id)).status).toBe('LOCKED');
    for (const password of ['wrong-4', PASSWORD]) {
      const answer = await attempt(user.email, password);
      expect(answer.status).toBe(unknown.status);
      expect(messageOf(answer.body)).toBe(WRONG_MESSAGE);
      expect(answer.body).not.toContain('locked');
    }
  });

  it("says an administrator's lock only after the right password (item 18)", async () => {
    const user = await createUser();
    const locked = await t.put(`/api/v1/tenants/${tenant.id}/users/${user.id}/status`, { status: 'LOCKED' });
    expect(locked.status).toBe(200);
    const wrong = await attempt(user.email, 'wrong-5');
    expect(messageOf(wrong.body)).toBe(WRONG_MESSAGE);
    const right = await attempt(user.email, PASSWORD);
    expect(right.status).toBe(401);
    expect(messageOf(right.body)).toContain('locked');
    // Unlocking gives a fresh count: the account signs in at once.
    const active = await t.put(`/api/v1/tenants/${tenant.id}/users/${user.id}/status`, { status: 'ACTIVE' });
    expect(active.status).toBe(200);
    expect((await attempt(user.email, PASSWORD)).location).toMatch(/code=/);
  });
});

import { decodeJwt } from 'jose';
import { Attribute, Change, Client } from 'ldapts';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, TestBrowser } from './helpers/browser.js';
import { directoryData } from './helpers/directory-data.js';
import {
  authorizationRequest,
  CALLBACK,
  createSignInUser,
  PASSWORD,
  type SignInRealm,
  signInRealm,
} from './helpers/sign-in.js';
import { openLdapConfig, type Slapd, slapdInstalled, startSlapd } from './helpers/slapd.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 15: signing in with a directory password (bind-through) on the hosted sign-in page —
// in chromium as a person does it, and with the form browser for the refusals: a user locked in
// the directory, a scheduled sync that disables it, and a directory that does not answer while a
// local administrator still signs in.

const t = useTestApp({}, { live: true });
const data = directoryData({ people: 12, units: ['Sales', 'Support'], teamsPerUnit: 1 });
const [first, second, third] = data.people;
let slapd: Slapd;
let realm: SignInRealm;
let providerId: string;
let browser: Browser | undefined;

describe.skipIf(!slapdInstalled)('signing in with a directory password', () => {
  beforeAll(async () => {
    slapd = await startSlapd(data);
    realm = await signInRealm(t);
    const created = await t.post('/api/v1/admin/identity-providers/', {
      tenant_id: realm.tenant.id,
      provider_type: 'LDAP',
      name: 'Company directory',
      email_domains: ['example.org'],
      group_mapping: [{ upstream_group: data.groups[0]?.dn, group_name: 'Directory team' }],
      config: {
        ...openLdapConfig(slapd, { login_attribute: 'mail' }),
        bind_password: data.servicePassword,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    providerId = created.body.data.id;
    if (hasChromium) browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await slapd?.stop();
  });

  /** The form browser's sign-in with `login` and `password`: the page or the redirect it ends at. */
  async function formSignIn(login: string, password: string) {
    const form = new TestBrowser(t.origin);
    const request = await authorizationRequest(realm.config);
    const page = await form.follow(request.url);
    const done = await form.submitForm(page, { email: login, password });
    return { request, done };
  }

  it.runIf(hasChromium)(
    'signs a directory user in on the sign-in page in chromium, creating it at once',
    async () => {
      const person = first as NonNullable<typeof first>;
      const context = await (browser as Browser).newContext();
      const page = await context.newPage();
      let callback = '';
      await page.route(`${CALLBACK}**`, async (route) => {
        callback = route.request().url();
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
      });
      const request = await authorizationRequest(realm.config);
      await page.goto(request.url);
      await page.getByLabel('Email address').fill(person.mail);
      await page.getByLabel('Password').fill(person.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${CALLBACK}**`);
      const tokens = await request.tokens(callback);
      await context.close();

      const claims = decodeJwt(tokens.id_token as string);
      expect(claims.amr).toEqual(['pwd']);
      const user = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${claims.sub}?include=groups`)).body
        .data;
      expect(user).toMatchObject({
        email: person.mail,
        first_name: person.givenName,
        last_name: person.sn,
        identity_source: 'LDAP',
        status: 'ACTIVE',
      });
      // The group mapping: the person's team in the directory is the ScaiKey group "Directory team".
      const inTeam = data.groups[0]?.members.includes(person.dn);
      expect(user.groups.some((g: { name: string }) => g.name === 'Directory team')).toBe(!!inTeam);
      // The password was checked by the directory and never stored.
      const row = await t.database.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', String(claims.sub))
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toBeNull();
    },
  );

  it('refuses a wrong or empty directory password like a wrong local one', async () => {
    const person = second as NonNullable<typeof second>;
    for (const password of ['not-the-password', '']) {
      const { done } = await formSignIn(person.mail, password);
      expect(done.status).toBe(401);
      expect(done.body).toContain('The email address or the password is not correct.');
    }
    const ok = await formSignIn(person.mail, person.password);
    expect(ok.done.location?.startsWith(`${CALLBACK}?code=`)).toBe(true);
  });

  it('refuses a user locked in the directory at once; the next scheduled sync disables it', async () => {
    const person = third as NonNullable<typeof third>;
    const before = await formSignIn(person.mail, person.password);
    const userId = (await before.request.tokens(before.done.location)).claims()?.sub as string;

    const admin = new Client({ url: slapd.ldapsUrl, tlsOptions: { ca: slapd.caPem } });
    await admin.bind(data.adminDn, data.adminPassword);
    await admin.modify(person.dn, [
      new Change({
        operation: 'add',
        modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }),
      }),
    ]);
    await admin.unbind();
    const refused = await formSignIn(person.mail, person.password);
    expect(refused.done.status).toBe(401);

    // A sync every 60 minutes: the housekeeping pass runs it now (never synced), then not again.
    const schedule = await t.patch(`/api/v1/admin/identity-providers/${providerId}`, {
      config: { sync_interval_minutes: 60 },
    });
    expect(schedule.status).toBe(200);
    await t.app.scaikey.housekeeping.runAll(['ldap-scheduled-syncs']);
    const runs = (await t.get(`/api/v1/admin/identity-providers/${providerId}/sync-runs`)).body.data;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'SUCCEEDED', trigger: 'SCHEDULED', error: null });
    expect(runs[0].counts.users_disabled).toBe(1);
    const user = (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${userId}`)).body.data;
    expect(user.status).toBe('DISABLED');
    // The change is an event of the user, as an admin's disable is (webhooks, the change feed).
    // (Long-polled: the feed hands out events in commit order, after older transactions of the
    // cluster end, and other test files run long ones.)
    const feed = await t.get(`/api/v1/tenants/${realm.tenant.id}/events?types=user.status_changed&wait=60`);
    expect(feed.status).toBe(200);
    expect(JSON.stringify(feed.body)).toContain(userId);
    await t.app.scaikey.housekeeping.runAll(['ldap-scheduled-syncs']);
    expect((await t.get(`/api/v1/admin/identity-providers/${providerId}/sync-runs`)).body.data).toHaveLength(
      1,
    );

    // A manual sync through the API answers its finished run.
    const manual = await t.post(`/api/v1/admin/identity-providers/${providerId}/sync`, {});
    expect(manual.status).toBe(200);
    expect(manual.body.data).toMatchObject({ status: 'SUCCEEDED', trigger: 'MANUAL' });
    expect(manual.body.data.counts.users_disabled).toBe(0);
  });

  it('while the directory is down: directory users are told, a local administrator signs in', async () => {
    const admin = await createSignInUser(t, realm.tenant, { email: 'admin@example.org' });
    const person = second as NonNullable<typeof second>;
    await slapd.halt();
    try {
      const down = await formSignIn(person.mail, person.password);
      expect(down.done.status).toBe(503);
      expect(down.done.body).toContain('The directory is not answering');
      const local = await formSignIn(admin.email, PASSWORD);
      expect(local.done.location?.startsWith(`${CALLBACK}?code=`)).toBe(true);
      expect((await local.request.tokens(local.done.location)).claims()?.sub).toBe(admin.id);
      const tested = await t.post(`/api/v1/admin/identity-providers/${providerId}/test`, {});
      expect(tested.body.data.ok).toBe(false);
      const sync = await t.post(`/api/v1/admin/identity-providers/${providerId}/sync`, {});
      // The run is recorded as failed, with why; the tenant's users are as they were.
      expect(sync.status).toBe(200);
      expect(sync.body.data.status).toBe('FAILED');
      expect(sync.body.data.error).toMatch(/\S/);
    } finally {
      await slapd.start();
    }
    const back = await formSignIn(person.mail, person.password);
    expect(back.done.location?.startsWith(`${CALLBACK}?code=`)).toBe(true);
  });

  it('stops the directory’s sign-ins when the provider is disabled', async () => {
    const person = second as NonNullable<typeof second>;
    expect((await t.patch(`/api/v1/admin/identity-providers/${providerId}`, { enabled: false })).status).toBe(
      200,
    );
    const refused = await formSignIn(person.mail, person.password);
    expect(refused.done.status).toBe(401);
    expect((await t.patch(`/api/v1/admin/identity-providers/${providerId}`, { enabled: true })).status).toBe(
      200,
    );
  });
});

// Issue 16: the console's users and sessions screens in chromium, as a tenant admin of a fresh
// tenant, against a listening server on both databases.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import {
  type ConsoleAdmin,
  chooseOption,
  consoleAdmin,
  consoleProblems,
  expectAccessible,
  screenshot,
  signInToConsole,
  useConsole,
} from './helpers/console.js';
import { insertUser } from './helpers/factories.js';
import { lastMailTo } from './helpers/mail.js';
import { createSignInUser, PASSWORD } from './helpers/sign-in.js';
import type { LiveApp } from './helpers/test-app.js';

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${Date.now().toString(36)}@example.com`;

/** The platform token's view of the API (setup and verification; the console is what is tested). */
function platformApi(app: LiveApp) {
  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => {
    const response = await app.request({ method, url, body, token: await app.platformToken() });
    if (response.status >= 300)
      throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  return {
    call,
    /** As createSignInUser calls it (the answer as it is). */
    post: async (url: string, body: unknown) =>
      app.request({ method: 'POST', url, body, token: await app.platformToken() }),
    user: async (tenantId: string, userId: string) =>
      (await app.request({
        method: 'GET',
        url: `/api/v1/tenants/${tenantId}/users/${userId}`,
        token: await app.platformToken(),
      })) as {
        status: number;
        body: { data: { status: string; display_name: string | null; first_name: string | null } };
      },
  };
}

/** Waits until no CSS transition runs (a dialog fading in is measured by axe at its final colours). */
async function settled(page: Page) {
  await page.waitForFunction(() =>
    document.getAnimations().every((animation) => !(animation instanceof CSSTransition)),
  );
}

/** axe on the page once its transitions have ended. */
async function accessible(page: Page, screen: string) {
  await settled(page);
  await expectAccessible(page, screen);
}

const usersUrl = (origin: string, admin: ConsoleAdmin) =>
  `${origin}/console/tenants/${admin.tenant.id}/users`;

/** The user id of a user page's URL. */
const userIdOf = (page: Page) => new URL(page.url()).pathname.split('/').pop() as string;

describe.runIf(hasChromium)('issue 16: the console users and sessions screens', () => {
  const c = useConsole();

  it('creates, edits, locks, unlocks, resets, disables, enables and deletes a user', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const api = platformApi(c.app);
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.getByRole('navigation').getByRole('link', { name: 'Users', exact: true }).click();
    // The pointer leaves the navigation (axe measures what is on screen, not a hovered link).
    await page.mouse.move(0, 0);
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.getByRole('link', { name: admin.email }).waitFor();
    await accessible(page, 'users list');
    await screenshot(page, 'users');

    // An invitation: no password; the API mails a link to set one.
    const invited = unique('invited');
    await page.getByRole('button', { name: 'Add user' }).click();
    const create = page.getByRole('dialog', { name: 'Add a user' });
    await create.getByLabel('Email address').fill(invited);
    await create.getByLabel('First name').fill('Ivy');
    await expect(create.getByRole('radio', { name: /Send an invitation/ }).isChecked()).resolves.toBe(true);
    await accessible(page, 'add user dialog');
    await create.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('heading', { level: 1, name: invited }).waitFor();
    const invitation = await lastMailTo(c.app, invited);
    expect(invitation?.kind).toBe('invitation');
    expect(invitation?.text_body).toContain('reset-password?token=');
    await page.getByText('Invited (email not verified)').first().waitFor();

    // The same email again: the 409 shows at the email field.
    await page.getByRole('link', { name: 'All users' }).click();
    await page.getByRole('button', { name: 'Add user' }).click();
    await create.getByLabel('Email address').fill(invited);
    await create.getByRole('button', { name: 'Add user' }).click();
    const emailField = create.getByLabel('Email address');
    await create.getByText('A user with this email already exists in this tenant').waitFor();
    await expect(emailField.getAttribute('aria-invalid')).resolves.toBe('true');
    const describedBy = (await emailField.getAttribute('aria-describedby')) ?? '';
    await expect(
      page
        .locator(`[id="${describedBy.split(' ').find((id) => id.includes('error')) ?? describedBy}"]`)
        .textContent(),
    ).resolves.toContain('already exists');
    // A 422 lands under its field too (an empty password when setting one).
    const email = unique('person');
    await emailField.fill(email);
    await create.getByRole('radio', { name: 'Set a password now' }).click();
    await create.getByRole('button', { name: 'Add user' }).click();
    // Under the field itself (the alert would say "password: …").
    await create.getByText('String should have at least 1 characters', { exact: true }).waitFor();
    await expect(create.getByRole('alert').count()).resolves.toBe(0);
    await create.getByLabel(/^Password/).fill(PASSWORD);
    await create.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('heading', { level: 1, name: email }).waitFor();
    const userId = userIdOf(page);
    expect((await api.user(admin.tenant.id, userId)).body.data.status).toBe('ACTIVE');
    await accessible(page, 'user detail');

    // Edit the name.
    await page.getByLabel('First name').fill('Grace');
    await page.getByLabel('Display name').fill('Grace Hopper');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByRole('heading', { level: 1, name: 'Grace Hopper' }).waitFor();
    const edited = (await api.user(admin.tenant.id, userId)).body.data;
    expect([edited.first_name, edited.display_name]).toEqual(['Grace', 'Grace Hopper']);

    // Lock (asks first), then unlock; the API says so after each.
    await page.getByRole('button', { name: 'Lock', exact: true }).click();
    const lock = page.getByRole('dialog', { name: 'Lock this user?' });
    await lock.getByLabel('Reason (kept in the audit log)').fill('Suspicious sign-ins');
    await accessible(page, 'lock dialog');
    await lock.getByRole('button', { name: 'Lock', exact: true }).click();
    await lock.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Unlock' }).waitFor();
    expect((await api.user(admin.tenant.id, userId)).body.data.status).toBe('LOCKED');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('button', { name: 'Unlock' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Lock', exact: true }).waitFor();
    expect((await api.user(admin.tenant.id, userId)).body.data.status).toBe('ACTIVE');

    // Reset the password by email: the mail is in the outbox.
    await page.getByRole('button', { name: 'Reset password' }).click();
    const reset = page.getByRole('dialog', { name: 'Reset the password' });
    await expect(
      reset.getByRole('radio', { name: 'Email a reset link to the user' }).isChecked(),
    ).resolves.toBe(true);
    await accessible(page, 'reset password dialog');
    await reset.getByRole('button', { name: 'Reset password' }).click();
    await reset.waitFor({ state: 'hidden' });
    const resetMail = await lastMailTo(c.app, email);
    expect(resetMail?.kind).toBe('password_reset');

    // Disable (asks first), then enable.
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    const disable = page.getByRole('dialog', { name: 'Disable this user?' });
    await disable.getByRole('button', { name: 'Disable', exact: true }).click();
    await disable.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Enable', exact: true }).waitFor();
    expect((await api.user(admin.tenant.id, userId)).body.data.status).toBe('DISABLED');
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.getByRole('button', { name: 'Enable', exact: true }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Lock', exact: true }).waitFor();
    expect((await api.user(admin.tenant.id, userId)).body.data.status).toBe('ACTIVE');

    // Delete asks for the email: a wrong one keeps the button disabled.
    await page.getByRole('button', { name: 'Delete user' }).click();
    const remove = page.getByRole('dialog', { name: 'Delete this user?' });
    const typed = remove.getByLabel(`Type ${email} to confirm`);
    await typed.fill(invited);
    await expect(remove.getByRole('button', { name: 'Delete user' }).isDisabled()).resolves.toBe(true);
    await accessible(page, 'delete dialog');
    await typed.fill(email);
    await expect(remove.getByRole('button', { name: 'Delete user' }).isEnabled()).resolves.toBe(true);
    await remove.getByRole('button', { name: 'Delete user' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    expect((await api.user(admin.tenant.id, userId)).status).toBe(404);
    expect(consoleProblems(page)).toEqual([]);
  }, 120_000);

  it('names its loading indicators: a user page with its groups still loading passes axe', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    // The user's groups are held until the audit ran: their loader is on screen meanwhile.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(`**/api/v1/admin/users/${admin.id}/groups*`, async (route) => {
      await released;
      await route.continue();
    });
    await page.goto(`${usersUrl(c.origin, admin)}/${admin.id}`);
    await page.getByRole('heading', { level: 1, name: admin.email }).waitFor();
    const loading = page
      .getByRole('region', { name: 'Group memberships' })
      .getByRole('progressbar', { name: 'Loading…' });
    await loading.waitFor();
    await accessible(page, 'user detail with its groups loading');
    release();
    await loading.waitFor({ state: 'detached' });
  });

  it('shows direct and inherited group memberships', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const api = platformApi(c.app);
    const member = await createSignInUser(api as never, admin.tenant);
    const groups = `/api/v1/tenants/${admin.tenant.id}/groups`;
    const parent = (await api.call('POST', groups, { name: 'Engineering' })).data as { id: string };
    const child = (await api.call('POST', groups, { name: 'Platform team' })).data as { id: string };
    await api.call('POST', `/api/v1/admin/groups/${parent.id}/nested-groups`, { group_ids: [child.id] });
    await api.call('POST', `/api/v1/admin/groups/${child.id}/members`, { user_ids: [member.id] });

    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.goto(`${usersUrl(c.origin, admin)}/${member.id}`);
    const table = page.getByRole('table', { name: 'Groups of the user' });
    const row = (name: string) => table.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await row('Platform team').waitFor();
    await expect(row('Platform team').textContent()).resolves.toContain('Direct');
    await expect(row('Engineering').textContent()).resolves.toContain('Inherited');
    await expect(table.getByRole('row').count()).resolves.toBe(3);
    await accessible(page, 'user detail with groups');
    await screenshot(page, 'user-detail');
    expect(consoleProblems(page)).toEqual([]);
  }, 60_000);

  it('keeps search and status filters in the URL across a reload, and pages through many users', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    for (let i = 0; i < 120; i++) {
      await insertUser(c.app, admin.tenant.id, {
        email: `page-${String(i).padStart(3, '0')}-${admin.tenant.slug}@example.com`,
      });
    }
    const locked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const email = `frozen-${i}-${admin.tenant.slug}@example.com`;
      locked.push(email);
      await insertUser(c.app, admin.tenant.id, { email, status: 'LOCKED' });
    }
    // A user matching the search but not the status filter.
    await insertUser(c.app, admin.tenant.id, { email: `frozen-active-${admin.tenant.slug}@example.com` });

    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.goto(usersUrl(c.origin, admin));
    const table = page.getByRole('table', { name: 'Users of the tenant' });
    await table.waitFor();
    await page.getByText('125 in all').waitFor();

    await page.getByLabel('Search users').fill('frozen-');
    await page.waitForURL(/search=frozen-/);
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'Locked' }).click();
    await page.waitForURL(/status=LOCKED/);
    await page.reload();
    await table.getByRole('link', { name: locked[0] }).waitFor();
    await page.getByText('3 in all').waitFor();
    await expect(table.getByRole('row').count()).resolves.toBe(4);
    await page.locator('input[type="search"][value="frozen-"]').waitFor();
    await expect(page.getByRole('combobox', { name: 'Status' }).inputValue()).resolves.toBe('Locked');
    const url = new URL(page.url());
    expect([url.searchParams.get('search'), url.searchParams.get('status')]).toEqual(['frozen-', 'LOCKED']);

    // Paging: 50 a page; page 3 holds the oldest 25 (the admin first created).
    await page.goto(usersUrl(c.origin, admin));
    await page.getByText('125 in all · Page 1 of 3').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2 of 3').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForURL(/page=3/);
    await table.getByRole('link', { name: admin.email }).waitFor();
    await expect(table.getByRole('row').count()).resolves.toBe(26);
    await expect(page.getByRole('button', { name: 'Next' }).isDisabled()).resolves.toBe(true);
    await page.reload();
    await table.getByRole('link', { name: admin.email }).waitFor();
    await page.getByText('Page 3 of 3').waitFor();
    expect(consoleProblems(page)).toEqual([]);
  }, 90_000);

  it('lists sessions, revokes one and all of a user, at a phone width', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const api = platformApi(c.app);
    const person = await createSignInUser(api as never, admin.tenant, { email: unique('traveller') });
    // Two browsers of the person sign in (no admin role: the console says so), two sessions.
    for (let i = 0; i < 2; i++) {
      const browser = await c.page();
      await browser.goto(`${c.origin}/console/`);
      await browser.getByLabel('Organization').fill(admin.tenant.slug);
      await browser.getByRole('button', { name: 'Sign in' }).click();
      await browser.getByLabel('Email address').fill(person.email);
      await browser.getByLabel('Password').fill(PASSWORD);
      await browser.getByRole('button', { name: 'Sign in', exact: true }).click();
      await browser.getByText('Your account holds no administrator role').waitFor();
    }
    const sessionsOf = async () =>
      (await api.call('GET', `/api/v1/admin/sessions/?user_id=${person.id}`)).pagination
        .total_items as number;
    expect(await sessionsOf()).toBe(2);

    const page = await c.page({ viewport: { width: 390, height: 844 } });
    await signInToConsole(page, c.origin, admin);
    await page.getByRole('button', { name: 'Toggle navigation' }).click();
    await page.getByRole('navigation').getByRole('link', { name: 'Sessions', exact: true }).click();
    const table = page.getByRole('table', { name: 'Sign-in sessions' });
    await table.getByRole('link', { name: person.id }).first().waitFor();
    // The admin's own session and the person's two.
    await expect(table.getByRole('row').count()).resolves.toBe(4);
    await accessible(page, 'sessions at phone width');

    await page.getByRole('combobox', { name: 'User' }).click();
    await chooseOption(
      page,
      page.getByRole('combobox', { name: 'User' }),
      person.email.slice(0, 12),
      person.email,
    );
    await page.waitForURL(new RegExp(`user_id=${person.id}`));
    await expect.poll(() => table.getByRole('row').count()).toBe(3);

    await table
      .getByRole('button', { name: /^Revoke session ses_/ })
      .first()
      .click();
    const revoke = page.getByRole('dialog', { name: 'Revoke this session?' });
    await accessible(page, 'revoke session dialog at phone width');
    await revoke.getByRole('button', { name: 'Revoke' }).click();
    await revoke.waitFor({ state: 'hidden' });
    await expect(table.getByRole('row').count()).resolves.toBe(2);
    expect(await sessionsOf()).toBe(1);

    await page.getByRole('button', { name: 'Revoke all sessions of this user' }).click();
    const revokeAll = page.getByRole('dialog', { name: 'Revoke all sessions of this user?' });
    await expect(revokeAll.textContent()).resolves.toContain(person.email);
    await accessible(page, 'revoke all dialog at phone width');
    await revokeAll.getByRole('button', { name: 'Revoke all sessions of this user' }).click();
    await page.getByText('No live session.').waitFor();
    expect(await sessionsOf()).toBe(0);

    // The users list at the phone width too.
    await page.goto(usersUrl(c.origin, admin));
    await page.getByRole('table', { name: 'Users of the tenant' }).waitFor();
    await accessible(page, 'users list at phone width');
    expect(consoleProblems(page)).toEqual([]);
  }, 90_000);
});

// Issue 16: the console's sign-in, its frame and what each role sees of it, in chromium against a
// listening server on both databases.
import { describe, expect, it } from 'vitest';
import { hasChromium } from './helpers/browser.js';
import {
  consoleAdmin,
  consoleProblems,
  expectAccessible,
  screenshot,
  signInToConsole,
  useConsole,
} from './helpers/console.js';
import { createTenant } from './helpers/factories.js';
import { createSignInUser, PASSWORD } from './helpers/sign-in.js';

const GLOBAL_LINKS = ['Partners', 'Tenants'];

describe.runIf(hasChromium)('issue 16: the console shell', () => {
  const c = useConsole();

  it('a super admin signs in through the platform tenant and sees every area', async () => {
    const admin = await consoleAdmin(c.app, 'super_admin');
    const page = await c.page();
    await page.goto(`${c.origin}/console/`);
    await expectAccessible(page, 'sign-in screen');
    await signInToConsole(page, c.origin, admin);
    const navigation = page.getByRole('navigation');
    for (const name of [...GLOBAL_LINKS, 'Applications', 'Admin roles', 'Audit log']) {
      await expect(navigation.getByRole('link', { name, exact: true }).isVisible()).resolves.toBe(true);
    }
    await expect(page.getByRole('button', { name: admin.email }).isVisible()).resolves.toBe(true);
    await expectAccessible(page, 'overview');
    expect(consoleProblems(page)).toEqual([]);
  });

  it('a tenant admin sees its own tenant only: no partners or tenants, and its tenant section', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    const navigation = page.getByRole('navigation');
    for (const name of GLOBAL_LINKS) {
      await expect(navigation.getByRole('link', { name, exact: true }).count()).resolves.toBe(0);
    }
    await expect(
      navigation.getByRole('link', { name: 'Users', exact: true }).getAttribute('href'),
    ).resolves.toBe(`/console/tenants/${admin.tenant.id}/users`);
    // A partners URL typed by hand answers as a page that does not exist.
    await page.goto(`${c.origin}/console/partners`);
    await page.getByRole('heading', { name: 'This page does not exist.' }).waitFor();
    expect(consoleProblems(page)).toEqual([]);
  });

  it('a reload keeps the person signed in (tokens are in memory; the sign-in session answers at once)', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.goto(`${c.origin}/console/audit`);
    await page.getByRole('button', { name: admin.email }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/audit');
    // Nothing of the tokens is kept in the page's storage.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    expect(stored).not.toMatch(/eyJ/);
  });

  it('signing out ends the session at the tenant: the next visit asks to sign in again', async () => {
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.getByRole('button', { name: admin.email }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    // The tenant's sign-out page confirms, then sends the browser back to the console.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Organization').waitFor();
    await page.getByLabel('Organization').fill(admin.tenant.slug);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Password').waitFor();
    expect(new URL(page.url()).pathname).toContain(`/api/v1/auth/tenants/${admin.tenant.slug}/`);
  });

  it('an account without an admin role is told it has none', async () => {
    const tenant = await createTenant(c.app);
    const token = await c.app.platformToken();
    const user = await createSignInUser(
      { post: (url: string, body: unknown) => c.app.request({ method: 'POST', url, body, token }) } as never,
      tenant,
    );
    const page = await c.page();
    await page.goto(`${c.origin}/console/`);
    await page.getByLabel('Organization').fill(tenant.slug);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email address').fill(user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Your account holds no administrator role').waitFor();
    await expectAccessible(page, 'no role');
  });

  it('works at a phone width and in the dark theme', async () => {
    const admin = await consoleAdmin(c.app, 'partner_admin');
    const page = await c.page({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    await signInToConsole(page, c.origin, admin);
    await page.getByRole('button', { name: 'Toggle navigation' }).click();
    await page.getByRole('navigation').getByRole('link', { name: 'Tenants', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
    await expectAccessible(page, 'tenants at phone width, dark');
    await screenshot(page, 'phone-dark');
    expect(consoleProblems(page)).toEqual([]);
  });
});

// Issue 16: the console's overview, partners, tenants (settings, branding with its preview) and
// audit log screens, per role, in chromium against a listening server on both databases.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
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
import { createPartner, createTenant } from './helpers/factories.js';

const unique = () => randomBytes(4).toString('hex');

/** The message Mantine shows under the field labelled `label` (its `<id>-error` element). */
async function fieldError(scope: Page | Locator, label: string): Promise<string> {
  const input = scope.getByLabel(label, { exact: true });
  const page = 'page' in scope ? scope.page() : scope;
  await input.and(page.locator('[aria-invalid="true"]')).waitFor();
  const id = await input.getAttribute('id');
  const error = page.locator(`[id="${id}-error"]`);
  await error.waitFor();
  return (await error.textContent()) ?? '';
}

/** The first 422 message of an API answer. */
const firstMessage = (body: unknown): string => (body as { detail: { msg: string }[] }).detail[0]?.msg ?? '';

describe.runIf(hasChromium)('issue 16: console overview, partners, tenants and audit log', () => {
  const c = useConsole();

  it('a super admin creates a partner and a tenant, sets its password policy and branding, and finds it all in the audit log', async () => {
    const token = await c.app.platformToken();
    const admin = await consoleAdmin(c.app, 'super_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    const navigation = page.getByRole('navigation');

    // Overview: counts of partners and tenants, the platform tenant's own counts, recent sign-ins.
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByRole('link', { name: /^Partners\s*\d+$/ }).waitFor();
    await page.getByRole('link', { name: /^Tenants\s*\d+$/ }).waitFor();
    // The admin's own sign-in is the newest entry of the recent sign-ins.
    await page.getByRole('table', { name: 'Recent sign-ins' }).getByText(admin.email).first().waitFor();
    await expectAccessible(page, 'overview');
    await screenshot(page, 'overview');

    // Partners: a slug of the wrong form shows the API's message under the field, then a good one creates it.
    await navigation.getByRole('link', { name: 'Partners', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Partners' }).waitFor();
    await page.getByRole('table', { name: 'Partners' }).waitFor();
    await expectAccessible(page, 'partners list');
    const partnerName = `Console Partner ${unique()}`;
    const partnerSlug = `console-partner-${unique()}`;
    const badSlug = await c.app.request({
      method: 'POST',
      url: '/api/v1/admin/partners/',
      token,
      body: { name: partnerName, slug: 'Bad Slug' },
    });
    expect(badSlug.status).toBe(422);
    await page.getByRole('button', { name: 'New partner' }).click();
    const partnerDialog = page.getByRole('dialog', { name: 'Create a partner' });
    await partnerDialog.getByLabel('Name').fill(partnerName);
    await partnerDialog.getByLabel('Slug', { exact: true }).fill('Bad Slug');
    await partnerDialog.getByLabel('Maximum tenants', { exact: true }).fill('5');
    await expectAccessible(page, 'create partner dialog');
    await partnerDialog.getByRole('button', { name: 'Create' }).click();
    expect(await fieldError(partnerDialog, 'Slug')).toBe(firstMessage(badSlug.body));
    await partnerDialog.getByLabel('Slug', { exact: true }).fill(partnerSlug);
    await partnerDialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: partnerName }).waitFor();
    const partnerId = new URL(page.url()).pathname.split('/').pop() as string;
    const partner = await c.app.request({ method: 'GET', url: `/api/v1/admin/partners/${partnerId}`, token });
    expect(partner.body.data).toMatchObject({ name: partnerName, slug: partnerSlug, max_tenants: 5 });
    await expectAccessible(page, 'partner detail');

    // Tenants: create one in that partner, chosen in the dialog.
    await navigation.getByRole('link', { name: 'Tenants', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
    await page.getByRole('table', { name: 'Tenants' }).getByRole('link').first().waitFor();
    await expectAccessible(page, 'tenants list');
    await screenshot(page, 'tenants');
    const tenantName = `Console Tenant ${unique()}`;
    await page.getByRole('button', { name: 'New tenant' }).click();
    const tenantDialog = page.getByRole('dialog', { name: 'Create a tenant' });
    await tenantDialog.getByLabel('Name').fill(tenantName);
    await tenantDialog.getByRole('combobox', { name: 'Partner' }).fill(partnerName);
    await page.getByRole('option', { name: partnerName }).click();
    await tenantDialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: tenantName }).waitFor();
    const tenantId = new URL(page.url()).pathname.split('/').pop() as string;
    const created = await c.app.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenantId}`, token });
    expect(created.body.data.partner_id).toBe(partnerId);
    await expectAccessible(page, 'tenant settings');
    await screenshot(page, 'tenant-settings');

    // Password policy: a minimum length below the API's range shows the API's message under the field.
    const tooShort = await c.app.request({
      method: 'PATCH',
      url: `/api/v1/admin/tenants/${tenantId}`,
      token,
      body: { settings: { password_policy: { min_length: 4 } } },
    });
    expect(tooShort.status).toBe(422);
    const minLength = page.getByLabel('Minimum length', { exact: true });
    await minLength.fill('4');
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(await fieldError(page, 'Minimum length')).toBe(firstMessage(tooShort.body));
    await minLength.fill('14');
    await page.getByLabel('Lockout duration (minutes)', { exact: true }).fill('30');
    await page.getByLabel('Require a symbol', { exact: true }).check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('The settings were saved.').waitFor();
    const afterSettings = await c.app.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenantId}`,
      token,
    });
    expect(afterSettings.body.data.settings.password_policy).toMatchObject({
      min_length: 14,
      require_symbol: true,
    });
    expect(afterSettings.body.data.settings.lockout.lockout_minutes).toBe(30);

    // Branding: the preview follows the fields as they are typed, before anything is saved.
    const preview = page.getByTestId('branding-preview');
    await preview.scrollIntoViewIfNeeded();
    await expect.poll(() => preview.getByTestId('preview-name').textContent()).toBe(tenantName);
    await page.getByLabel('Display name', { exact: true }).fill('Acme Sign-In');
    await expect.poll(() => preview.getByTestId('preview-name').textContent()).toBe('Acme Sign-In');
    const buttonColour = () =>
      preview.getByTestId('preview-button').evaluate((element) => getComputedStyle(element).backgroundColor);
    expect(await buttonColour()).toBe('rgb(31, 95, 191)');
    await page.getByLabel('Primary colour', { exact: true }).fill('#7a1f5c');
    await page.keyboard.press('Escape');
    await expect.poll(buttonColour).toBe('rgb(122, 31, 92)');
    await page.getByLabel('Background colour', { exact: true }).fill('#fdf6e3');
    await page.keyboard.press('Escape');
    await expect
      .poll(() => preview.evaluate((element) => getComputedStyle(element).backgroundColor))
      .toBe('rgb(253, 246, 227)');
    // Images come from https only: an http logo is refused and not drawn.
    await page.getByLabel('Logo URL', { exact: true }).fill('http://logo.invalid/acme.png');
    await page.getByRole('button', { name: 'Save branding' }).click();
    expect(await fieldError(page, 'Logo URL')).toBe('Use an https address.');
    expect(await preview.getByTestId('preview-logo').count()).toBe(0);
    await page.getByLabel('Logo URL', { exact: true }).fill('https://logo.invalid/acme.png');
    await expect
      .poll(() => preview.getByTestId('preview-logo').getAttribute('src'))
      .toBe('https://logo.invalid/acme.png');
    await page.getByLabel('Support email', { exact: true }).fill('help@acme.example');
    await preview.getByText('help@acme.example').waitFor();
    await expectAccessible(page, 'branding');
    await screenshot(page, 'branding');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.getByText('The branding was saved.').waitFor();
    const afterBranding = await c.app.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenantId}`,
      token,
    });
    expect(afterBranding.body.data.branding).toMatchObject({
      display_name: 'Acme Sign-In',
      primary_color: '#7a1f5c',
      background_color: '#fdf6e3',
      logo_url: 'https://logo.invalid/acme.png',
      support_email: 'help@acme.example',
    });

    // Audit log: the tenant's entries, then only its updates, then one entry's before and after.
    await navigation.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByLabel('Resource id', { exact: true }).fill(tenantId);
    await expect.poll(() => new URL(page.url()).searchParams.get('resource_id')).toBe(tenantId);
    const entries = page.getByRole('table', { name: 'Audit entries' });
    // Its creation and its two updates (settings, branding), newest first; nothing of other tenants.
    const rows = entries.locator('tbody tr');
    const onlyThisTenant = async () => {
      const texts = await rows.allInnerTexts();
      return texts.every((text) => text.includes(tenantId)) ? texts.length : -1;
    };
    await expect.poll(onlyThisTenant).toBe(3);
    expect(await entries.getByRole('cell', { name: 'tenant.created', exact: true }).count()).toBe(1);
    expect(await entries.getByRole('cell', { name: 'tenant.updated', exact: true }).count()).toBe(2);
    await expectAccessible(page, 'audit log');
    await page.getByRole('combobox', { name: 'Action' }).fill('tenant.updated');
    await page.getByRole('option', { name: 'tenant.updated', exact: true }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('action')).toBe('tenant.updated');
    await expect.poll(onlyThisTenant).toBe(2);
    expect(await entries.getByRole('cell', { name: 'tenant.created', exact: true }).count()).toBe(0);
    // The export carries the bearer token (fetch, then a blob download) and the same filters.
    await page.getByRole('button', { name: 'Export' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('menuitem', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\r\n');
    expect(csv[0]).toMatch(/^id,created_at,tenant_id,/);
    expect(csv.slice(1)).toHaveLength(2);
    for (const line of csv.slice(1)) expect(line).toContain(`,tenant.updated,tenant,${tenantId},`);
    // Newest first: the branding change.
    await entries.getByRole('link').first().click();
    await page.getByRole('heading', { level: 1, name: 'Entry: tenant.updated' }).waitFor();
    await page.getByRole('heading', { name: 'After' }).waitFor();
    await page.getByText('Acme Sign-In').first().waitFor();
    await expectAccessible(page, 'audit entry');
    expect(consoleProblems(page)).toEqual([]);
  }, 120_000);

  it('a super admin deletes a tenant after typing its slug', async () => {
    const token = await c.app.platformToken();
    const victim = await createTenant(c.app);
    const admin = await consoleAdmin(c.app, 'super_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    await page.goto(`${c.origin}/console/tenants/${victim.id}`);
    await page.getByRole('heading', { level: 1, name: victim.name }).waitFor();
    await page.getByRole('button', { name: 'Delete tenant' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this tenant' });
    const confirm = dialog.getByRole('button', { name: 'Delete tenant' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(`Type ${victim.slug} to confirm`).fill(victim.slug);
    await confirm.click();
    await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
    const gone = await c.app.request({ method: 'GET', url: `/api/v1/admin/tenants/${victim.id}`, token });
    expect(gone.status).toBe(404);
    expect(consoleProblems(page)).toEqual([]);
  }, 60_000);

  it("a partner admin sees its partner's tenants only, read only (dark theme)", async () => {
    const [own, other] = await Promise.all([createPartner(c.app), createPartner(c.app)]);
    const [ownTenant, otherTenant] = await Promise.all([
      createTenant(c.app, { partner_id: own.id }),
      createTenant(c.app, { partner_id: other.id }),
    ]);
    const admin = await consoleAdmin(c.app, 'partner_admin', ownTenant);
    const page = await c.page({ colorScheme: 'dark' });
    await signInToConsole(page, c.origin, admin);
    const navigation = page.getByRole('navigation');
    await page.getByRole('link', { name: /^Tenants\s*\d+$/ }).waitFor();
    expect(await page.getByRole('link', { name: /^Partners\s*\d/ }).count()).toBe(0);
    expect(await navigation.getByRole('link', { name: 'Partners', exact: true }).count()).toBe(0);
    await expectAccessible(page, 'overview (dark)');

    await navigation.getByRole('link', { name: 'Tenants', exact: true }).click();
    const list = page.getByRole('table', { name: 'Tenants' });
    await list.getByRole('link', { name: ownTenant.name }).waitFor();
    expect(await list.getByRole('link', { name: otherTenant.name }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'New tenant' }).count()).toBe(0);
    // Searching for the other partner's tenant finds nothing either.
    await page.getByLabel('Search tenants').fill(otherTenant.slug);
    await page.getByText('No tenant matches.').waitFor();
    await expectAccessible(page, 'tenants list (dark)');

    await page.goto(`${c.origin}/console/tenants/${otherTenant.id}`);
    await page.getByRole('heading', { level: 1, name: 'Tenant not found' }).waitFor();
    expect(await page.getByText(otherTenant.name).count()).toBe(0);

    await page.goto(`${c.origin}/console/tenants/${ownTenant.id}`);
    await page.getByRole('heading', { level: 1, name: ownTenant.name }).waitFor();
    await page.getByText('Only a super admin can change a tenant.').waitFor();
    expect(await page.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
    expect(await page.getByLabel('Minimum length', { exact: true }).isDisabled()).toBe(true);
    await expectAccessible(page, 'tenant settings (dark, read only)');
    expect(consoleProblems(page)).toEqual([]);
  }, 90_000);

  it("a tenant admin sees its own tenant's settings, no partners or tenants, and never another tenant (phone width)", async () => {
    const other = await createTenant(c.app);
    const admin = await consoleAdmin(c.app, 'tenant_admin');
    const page = await c.page();
    await signInToConsole(page, c.origin, admin);
    const navigation = page.getByRole('navigation');
    for (const name of ['Partners', 'Tenants']) {
      expect(await navigation.getByRole('link', { name, exact: true }).count()).toBe(0);
    }
    await page.getByRole('link', { name: /^Users\s*\d+$/ }).waitFor();
    expect(await page.getByRole('link', { name: /^Tenants\s*\d/ }).count()).toBe(0);

    await navigation.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Security settings' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/console/tenants/${admin.tenant.id}`);
    await expect.poll(() => page.getByLabel('Minimum length', { exact: true }).inputValue()).toBe('12');
    await expectAccessible(page, 'own tenant settings');

    await page.goto(`${c.origin}/console/tenants/${other.id}`);
    await page.getByRole('heading', { level: 1, name: 'Tenant not found' }).waitFor();
    expect(await page.getByText(other.name).count()).toBe(0);
    await page.goto(`${c.origin}/console/tenants`);
    await page.getByRole('heading', { level: 1, name: 'This page does not exist.' }).waitFor();

    // The audit log of its tenant, then its own settings at a phone width.
    await page.goto(`${c.origin}/console/audit?action=user.login`);
    await page.getByRole('table', { name: 'Audit entries' }).getByText(admin.id).first().waitFor();
    await expectAccessible(page, 'audit log (tenant admin)');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${c.origin}/console/tenants/${admin.tenant.id}`);
    await page.getByRole('heading', { name: 'Branding' }).waitFor();
    await page.getByTestId('branding-preview').waitFor();
    await expectAccessible(page, 'tenant settings at phone width');
    expect(consoleProblems(page)).toEqual([]);
  }, 90_000);
});

// Issue 16: the console's applications, admin roles, webhooks and identity providers screens, in
// chromium against a listening server on both databases.
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
import { createTenant } from './helpers/factories.js';
import { createSignInUser } from './helpers/sign-in.js';
import { GUARDED_WEBHOOKS } from './helpers/webhook-receiver.js';

/** A scenario signs in once and walks through several screens on a 2-core machine. */
const SCENARIO_MS = 120_000;

describe.runIf(hasChromium)(
  'issue 16: console applications, admin roles, webhooks, identity providers',
  () => {
    // The checks a production server makes, which the test defaults turn off: webhook targets on
    // private addresses (SSRF) and plain-http federation issuers.
    const c = useConsole({
      federationAllowHttp: false,
      webhooks: GUARDED_WEBHOOKS,
    });

    /** The platform token's request helper, for the data a scenario starts from and what it checks. */
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) =>
      c.app.request({ method, url, body, token: await c.app.platformToken() });

    const userIn = (tenant: ConsoleAdmin['tenant']) =>
      createSignInUser({ post: (url: string, body: unknown) => call('POST', url, body) } as never, tenant);

    /** client_credentials at the tenant's token endpoint: whether the client secret authenticates. */
    const tokenStatus = async (slug: string, clientId: string, secret: string) => {
      const response = await fetch(`${c.origin}/api/v1/auth/tenants/${slug}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
      });
      return response.status;
    };

    /** A new page whose locators fail with their own message well before the test's timeout. */
    const open = async (options?: Parameters<typeof c.page>[0]) => {
      const page = await c.page(options);
      page.setDefaultTimeout(20_000);
      return page;
    };

    /**
     * axe on a settled page: no CSS transition or animation running (a dialog fading in would be
     * measured at its half-transparent colours). A condition, not a timer.
     */
    const accessible = async (page: Page, screen: string) => {
      await page.waitForFunction(() =>
        document.getAnimations().every((animation) => animation.playState !== 'running'),
      );
      await expectAccessible(page, screen);
    };

    /** Picks an option of a server-searched select: types into it and clicks the option. */
    const choose = async (page: Page, label: string, search: string, option: string | RegExp) => {
      await chooseOption(page, page.getByRole('combobox', { name: label, exact: true }), search, option);
    };

    it(
      'a tenant admin creates an application (secret once, working), rotates it, edits redirect URIs and assigns a group',
      async () => {
        const admin = await consoleAdmin(c.app, 'tenant_admin');
        const tenant = admin.tenant;
        // A group with a member, made through the API.
        const member = await userIn(tenant);
        const group = await call('POST', `/api/v1/tenants/${tenant.id}/groups`, { name: 'Engineering' });
        expect(group.status).toBe(201);
        const added = await call('PUT', `/api/v1/tenants/${tenant.id}/groups/${group.body.data.id}/members`, {
          users_to_add: [member.id],
        });
        expect(added.status).toBeLessThan(300);

        const page = await open();
        await signInToConsole(page, c.origin, admin);
        await page.getByRole('navigation').getByRole('link', { name: 'Applications', exact: true }).click();
        await page.getByRole('heading', { name: 'Applications', level: 1 }).waitFor();
        await page.getByRole('table', { name: 'Applications' }).waitFor();
        await accessible(page, 'applications list');
        await screenshot(page, 'applications');

        // Create a WEB application with a redirect URI.
        await page.getByRole('button', { name: 'New application' }).click();
        const create = page.getByRole('dialog', { name: 'New application' });
        await create.getByRole('textbox', { name: 'Name', exact: true }).fill('Billing portal');
        await create.getByRole('button', { name: 'Add to Redirect URIs' }).click();
        await create
          .getByRole('textbox', { name: 'Redirect URI 1', exact: true })
          .fill('https://billing.example.com/callback');
        await accessible(page, 'create application dialog');
        await create.getByRole('button', { name: 'Create' }).click();

        // The secret shows once, with a copy button and the warning.
        const secretDialog = page.getByRole('dialog', { name: 'Client secret' });
        await secretDialog.getByText('you will not see it again').waitFor();
        await secretDialog.getByRole('button', { name: 'Copy secret' }).waitFor();
        const secret = await secretDialog.getByLabel('Client secret', { exact: true }).inputValue();
        expect(secret.length).toBeGreaterThan(20);
        await accessible(page, 'application secret dialog');
        await screenshot(page, 'application-secret');
        await secretDialog.getByRole('button', { name: 'I have stored it' }).click();
        await page.getByRole('heading', { name: 'Billing portal', level: 1 }).waitFor();
        const appId = new URL(page.url()).pathname.split('/').pop() as string;
        expect(appId).toMatch(/^app_/);
        // The secret authenticates the client at the tenant's token endpoint; the page holds it no more.
        expect(await tokenStatus(tenant.slug, appId, secret)).toBe(200);
        expect(await page.content()).not.toContain(secret);
        await accessible(page, 'application detail');

        // Rotate: asks first, then shows the new secret once; the old one stops working.
        await page.getByRole('button', { name: 'Rotate secret' }).click();
        const rotateConfirm = page.getByRole('dialog', { name: 'Rotate the client secret?' });
        await accessible(page, 'rotate secret confirmation');
        await rotateConfirm.getByRole('button', { name: 'Rotate secret' }).click();
        const rotated = page.getByRole('dialog', { name: 'New client secret' });
        const newSecret = await rotated.getByLabel('Client secret', { exact: true }).inputValue();
        expect(newSecret).not.toBe(secret);
        await rotated.getByRole('button', { name: 'I have stored it' }).click();
        await rotated.waitFor({ state: 'detached' });
        expect(await tokenStatus(tenant.slug, appId, secret)).toBe(401);
        expect(await tokenStatus(tenant.slug, appId, newSecret)).toBe(200);

        // A bad redirect URI: the API's 422 shows under that URI's field, and nothing is saved.
        await page.getByRole('button', { name: 'Add to Redirect URIs' }).click();
        const second = page.getByRole('textbox', { name: 'Redirect URI 2', exact: true });
        await second.fill('http://billing.example.com/other');
        await page.getByRole('button', { name: 'Save' }).click();
        await expect.poll(() => second.getAttribute('aria-invalid')).toBe('true');
        const describedBy = (await second.getAttribute('aria-describedby')) ?? '';
        const errorId = describedBy.split(' ').find((id) => id.includes('error')) as string;
        await expect(page.locator(`[id="${errorId}"]`).textContent()).resolves.toMatch(
          /http is only allowed for localhost/,
        );
        expect((await call('GET', `/api/v1/admin/applications/${appId}`)).body.data.redirect_uris).toEqual([
          'https://billing.example.com/callback',
        ]);
        // Fixed, it is saved.
        await second.fill('https://billing.example.com/other');
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByText('The application was saved.').waitFor();
        expect((await call('GET', `/api/v1/admin/applications/${appId}`)).body.data.redirect_uris).toEqual([
          'https://billing.example.com/callback',
          'https://billing.example.com/other',
        ]);

        // Assign the group: its member is among the effective users.
        await choose(page, 'Group', 'Engin', 'Engineering');
        await page.getByRole('button', { name: 'Assign group' }).click();
        await page
          .getByRole('table', { name: 'Groups assigned to the application' })
          .getByText('Engineering')
          .waitFor();
        const effective = page.getByRole('table', { name: 'Effective users of the application' });
        await effective
          .getByRole('row', { name: new RegExp(member.email) })
          .getByText('Through 1 group')
          .waitFor();
        await accessible(page, 'application assignments');

        // Admin role assignments are the super admin's (the API refuses the others): no such screen here.
        await expect(
          page.getByRole('navigation').getByRole('link', { name: 'Admin roles', exact: true }).count(),
        ).resolves.toBe(0);
        expect(consoleProblems(page)).toEqual([]);
      },
      SCENARIO_MS,
    );

    it(
      'a super admin grants tenant_admin to a user of a tenant (tenant → user search) and revokes it',
      async () => {
        const admin = await consoleAdmin(c.app, 'super_admin');
        const tenant = await createTenant(c.app);
        const user = await userIn(tenant);
        const page = await open();
        await signInToConsole(page, c.origin, admin);
        await page.getByRole('navigation').getByRole('link', { name: 'Admin roles', exact: true }).click();
        await page
          .getByRole('table', { name: 'Admin role assignments' })
          .getByText(admin.email)
          .first()
          .waitFor();
        await accessible(page, 'admin roles list');

        await page.getByRole('button', { name: 'Grant a role' }).click();
        const grant = page.getByRole('dialog', { name: 'Grant an admin role' });
        await choose(page, 'Tenant of the user', tenant.name, tenant.name);
        await choose(page, 'User', user.email, new RegExp(user.email));
        await accessible(page, 'grant role dialog');
        await grant.getByRole('button', { name: 'Grant a role' }).click();
        await grant.waitFor({ state: 'detached' });
        const row = page.getByRole('row', { name: new RegExp(user.email) });
        await row.getByText('Active', { exact: true }).waitFor();
        const granted = await call('GET', `/api/v1/admin/admin-roles/?user_id=${user.id}`);
        expect(granted.body.data).toMatchObject([
          { role: 'TENANT_ADMIN', tenant_id: tenant.id, is_active: true },
        ]);

        await page.getByRole('button', { name: `Revoke Tenant admin of ${user.email}` }).click();
        const confirm = page.getByRole('dialog', { name: 'Revoke this role?' });
        await accessible(page, 'revoke role confirmation');
        await confirm.getByRole('button', { name: 'Revoke' }).click();
        await row.getByText('Not active').waitFor();
        const revoked = await call('GET', `/api/v1/admin/admin-roles/?user_id=${user.id}`);
        expect(revoked.body.data).toMatchObject([{ is_active: false }]);
        expect(consoleProblems(page)).toEqual([]);
      },
      SCENARIO_MS,
    );

    it(
      'a tenant admin creates a webhook: a private target is refused under the URL, a public one shows its secret once',
      async () => {
        const admin = await consoleAdmin(c.app, 'tenant_admin');
        const page = await open();
        await signInToConsole(page, c.origin, admin);
        await page.getByRole('navigation').getByRole('link', { name: 'Webhooks', exact: true }).click();
        await page.getByRole('table', { name: 'Webhook endpoints' }).waitFor();
        await accessible(page, 'webhooks list');

        await page.getByRole('button', { name: 'New webhook' }).click();
        const create = page.getByRole('dialog', { name: 'New webhook endpoint' });
        const url = create.getByRole('textbox', { name: 'Endpoint URL' });
        await url.fill('https://127.0.0.1/hook');
        await create.getByRole('combobox', { name: 'Event types' }).click();
        await page.getByRole('option', { name: 'user.* (every user event)' }).click();
        await create.getByRole('combobox', { name: 'Event types' }).press('Escape');
        await accessible(page, 'create webhook dialog');
        await create.getByRole('button', { name: 'Create' }).click();
        // SSRF: refused when created, the message under the URL.
        await expect.poll(() => url.getAttribute('aria-invalid')).toBe('true');

        // A public address literal (no DNS needed) is accepted; its signing secret shows once.
        await url.fill('https://93.184.215.14/hook');
        await create.getByRole('button', { name: 'Create' }).click();
        const secretDialog = page.getByRole('dialog', { name: 'Signing secret' });
        const secret = await secretDialog.getByRole('textbox', { name: 'Signing secret' }).inputValue();
        expect(secret).toMatch(/^whsec_/);
        await secretDialog.getByText('you will not see it again').waitFor();
        await accessible(page, 'webhook secret dialog');
        await secretDialog.getByRole('button', { name: 'I have stored it' }).click();
        await page.getByRole('heading', { name: 'https://93.184.215.14/hook', level: 1 }).waitFor();
        await page.getByRole('table', { name: 'Deliveries to the endpoint' }).waitFor();
        expect(await page.content()).not.toContain(secret);
        await accessible(page, 'webhook detail');
        const listed = await call('GET', `/api/v1/admin/webhooks/?tenant_id=${admin.tenant.id}`);
        expect(listed.body.data).toMatchObject([
          { url: 'https://93.184.215.14/hook', events: ['user.*'], scope: 'TENANT' },
        ]);
        expect(consoleProblems(page)).toEqual([]);
      },
      SCENARIO_MS,
    );

    it(
      'a tenant admin creates an OIDC identity provider: a bad issuer shows under its field; the good one is listed without its secret',
      async () => {
        const admin = await consoleAdmin(c.app, 'tenant_admin');
        const page = await open();
        await signInToConsole(page, c.origin, admin);
        await page
          .getByRole('navigation')
          .getByRole('link', { name: 'Identity providers', exact: true })
          .click();
        await page.getByRole('table', { name: 'Identity providers' }).waitFor();
        await accessible(page, 'identity providers list');

        await page.getByRole('button', { name: 'New OIDC provider' }).click();
        const create = page.getByRole('dialog', { name: 'New OpenID Connect provider' });
        await create.getByRole('textbox', { name: 'Name', exact: true }).fill('Corporate SSO');
        const issuer = create.getByRole('textbox', { name: 'Issuer' });
        await issuer.fill('http://login.corp.example');
        await create.getByRole('textbox', { name: 'Client id' }).fill('scaikey');
        await create.getByLabel('Client secret', { exact: true }).fill('upstream-secret-value-123');
        await create.getByRole('combobox', { name: 'Email domains' }).fill('corp.example');
        await create.getByRole('combobox', { name: 'Email domains' }).press('Enter');
        await accessible(page, 'create identity provider dialog');
        await create.getByRole('button', { name: 'Create' }).click();
        await expect.poll(() => issuer.getAttribute('aria-invalid')).toBe('true');

        await issuer.fill('https://login.corp.example');
        await create.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('heading', { name: 'Corporate SSO', level: 1 }).waitFor();
        await page.getByText('client_secret: set').waitFor();
        expect(await page.content()).not.toContain('upstream-secret-value-123');
        await accessible(page, 'identity provider detail');

        await page.getByRole('link', { name: 'Identity providers', exact: true }).first().click();
        const row = page
          .getByRole('table', { name: 'Identity providers' })
          .getByRole('row', { name: /Corporate SSO/ });
        await row.getByText('corp.example').waitFor();
        await row.getByText('Enabled').waitFor();
        const stored = await call('GET', `/api/v1/admin/identity-providers/?tenant_id=${admin.tenant.id}`);
        expect(stored.body.data).toMatchObject([
          { name: 'Corporate SSO', provider_type: 'OIDC', config: { issuer: 'https://login.corp.example' } },
        ]);
        expect(consoleProblems(page)).toEqual([]);
      },
      SCENARIO_MS,
    );

    it(
      'a super admin creates a GLOBAL service application and picks the tenant of its assignments, at phone width',
      async () => {
        const admin = await consoleAdmin(c.app, 'super_admin');
        const tenant = await createTenant(c.app);
        const page = await open({ viewport: { width: 390, height: 844 } });
        await signInToConsole(page, c.origin, admin);
        await page.goto(`${c.origin}/console/applications`);
        await page.getByRole('table', { name: 'Applications' }).waitFor();
        await accessible(page, 'applications list (phone)');

        await page.getByRole('button', { name: 'New application' }).click();
        const create = page.getByRole('dialog', { name: 'New application' });
        await create.getByRole('textbox', { name: 'Name', exact: true }).fill('Reporting service');
        await create.getByRole('combobox', { name: 'Application type' }).click();
        await page.getByRole('option', { name: 'Service (machine to machine)' }).click();
        await create.getByRole('combobox', { name: 'Scope', exact: true }).click();
        await page.getByRole('option', { name: 'Global (every tenant)' }).click();
        await accessible(page, 'create application dialog (phone)');
        await create.getByRole('button', { name: 'Create' }).click();
        const secretDialog = page.getByRole('dialog', { name: 'Client secret' });
        await secretDialog.getByLabel('Client secret', { exact: true }).waitFor();
        await accessible(page, 'application secret dialog (phone)');
        await secretDialog.getByRole('button', { name: 'I have stored it' }).click();
        await page.getByRole('heading', { name: 'Reporting service', level: 1 }).waitFor();
        const appId = new URL(page.url()).pathname.split('/').pop() as string;
        expect((await call('GET', `/api/v1/admin/applications/${appId}`)).body.data).toMatchObject({
          scope: 'GLOBAL',
          application_type: 'SERVICE',
          tenant_id: null,
        });
        // A GLOBAL application's assignments are per tenant: the person picks one.
        await choose(page, 'Tenant of the assignments', tenant.name, tenant.name);
        await page.getByRole('table', { name: 'Effective users of the application' }).waitFor();
        await accessible(page, 'application detail (phone)');
        expect(consoleProblems(page)).toEqual([]);
      },
      SCENARIO_MS,
    );
  },
);

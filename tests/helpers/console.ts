import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { AdminRole } from '../../src/platform/auth/principal.js';
import type { Config } from '../../src/platform/config.js';
import { launchChromium } from './browser.js';
import { createTenant, grantAdminRole, type Tenant } from './factories.js';
import { createSignInUser, PASSWORD } from './sign-in.js';
import { type LiveApp, startLiveApp } from './test-app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ConsoleHandle {
  app: LiveApp;
  browser: Browser;
  origin: string;
  /** A new browser context (its own cookies) and page; closed with the file. */
  page(options?: {
    viewport?: { width: number; height: number };
    colorScheme?: 'light' | 'dark';
  }): Promise<Page>;
}

/**
 * A listening ScaiKey serving the built console, and a chromium, for one test file. Every page
 * fails its test on a CSP violation or an uncaught error of the console. `overrides` change the
 * test configuration (e.g. the SSRF or plain-http checks the test defaults turn off).
 */
export function useConsole(overrides: Partial<Config> = {}): ConsoleHandle {
  let app: LiveApp | null = null;
  let browser: Browser | null = null;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    [app, browser] = await Promise.all([startLiveApp(overrides), launchChromium()]);
  });
  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => {})));
    await browser?.close();
    await app?.close();
  });
  const started = <T>(value: T | null): T => {
    if (!value) throw new Error('useConsole: used before beforeAll started it');
    return value;
  };
  return {
    get app() {
      return started(app);
    },
    get browser() {
      return started(browser);
    },
    get origin() {
      return started(app).origin;
    },
    async page(options = {}) {
      const context = await started(browser).newContext({
        viewport: options.viewport ?? { width: 1280, height: 860 },
        colorScheme: options.colorScheme ?? 'light',
      });
      contexts.push(context);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
          problems.push(message.text());
        }
      });
      page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
      (page as Page & { consoleProblems: string[] }).consoleProblems = problems;
      return page;
    },
  };
}

/** The CSP violations and uncaught errors a page has seen so far. */
export const consoleProblems = (page: Page): string[] =>
  (page as Page & { consoleProblems: string[] }).consoleProblems;

export interface ConsoleAdmin {
  id: string;
  email: string;
  password: string;
  tenant: Pick<Tenant, 'id' | 'slug' | 'partner_id'>;
}

/** The platform tenant (where super admins live), as the admin API shows it. */
export async function platformTenant(t: LiveApp): Promise<Tenant> {
  const token = await t.platformToken();
  const response = await t.request({ method: 'GET', url: '/api/v1/admin/tenants/?search=platform', token });
  const tenant = (response.body.data as Tenant[]).find((candidate) => candidate.slug === 'platform');
  if (!tenant) throw new Error('no platform tenant');
  return tenant;
}

/**
 * A person who signs in to the console with `PASSWORD`: a super admin in the platform tenant, a
 * partner admin of `tenant`'s partner or a tenant admin of `tenant` (a new tenant when not given).
 */
export async function consoleAdmin(
  t: LiveApp,
  role: AdminRole,
  tenant?: Pick<Tenant, 'id' | 'slug' | 'partner_id'>,
): Promise<ConsoleAdmin> {
  const token = await t.platformToken();
  const api = {
    post: async (url: string, body: unknown) => t.request({ method: 'POST', url, body, token }),
  };
  const home = role === 'super_admin' ? await platformTenant(t) : (tenant ?? (await createTenant(t)));
  const user = await createSignInUser(api as never, home);
  await grantAdminRole(t, user.id, role, home);
  return { id: user.id, email: user.email, password: PASSWORD, tenant: home };
}

/**
 * Signs in through the console's sign-in screen and the tenant's hosted sign-in page, and waits
 * for the console's frame.
 */
export async function signInToConsole(page: Page, origin: string, admin: ConsoleAdmin): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel('Organization').fill(admin.tenant.slug);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Email address').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The header's account menu (the navigation is folded away at a phone's width).
  await page.getByRole('button', { name: admin.email }).waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; html: string }[];
}

/**
 * Picks an option of a select the server searches: types `search` into `combobox`, waits until the
 * answer for that text is listed (the select's aria-busy turns false: console/src/ui/server-search.ts)
 * and clicks the option. Clicking earlier races the answer replacing the list under the pointer.
 */
export async function chooseOption(
  page: Page,
  combobox: Locator,
  search: string,
  option: string | RegExp,
  exact?: boolean,
): Promise<void> {
  await combobox.fill(search);
  await combobox.and(page.locator('[aria-busy="false"]')).waitFor();
  await page.getByRole('option', { name: option, exact }).click();
}

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) on the page as it is and fails on any serious or
 * critical violation. axe is evaluated through the DevTools protocol, which the page's CSP does not
 * govern, so the page keeps its real CSP.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // A string is evaluated as an expression by the DevTools protocol (no eval in the page).
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  // A dialog's overlay fades in: contrast is judged once every running transition has ended (an
  // event, not a delay), or axe measures a button through a half-faded overlay.
  // Endless ones (a loader's spin) are left out: they never finish.
  await page.evaluate(async () => {
    const ending = document
      .getAnimations()
      .filter((animation) => animation.effect?.getComputedTiming().iterations !== Number.POSITIVE_INFINITY);
    await Promise.all(ending.map((animation) => animation.finished.catch(() => undefined)));
  });
  const violations = await page.evaluate(async () => {
    const scope = window as unknown as {
      axe: { run: (...args: unknown[]) => Promise<{ violations: unknown[] }> };
    };
    // While a modal dialog is open, the screen behind its overlay is inactive (WCAG 1.4.3's
    // exception): the audit covers the dialog and the other layers, the screen had its own.
    const context = document.querySelector('[role="dialog"][aria-modal="true"]')
      ? { exclude: [['#root']] }
      : document;
    const result = await scope.axe.run(context, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations;
  });
  const serious = (violations as AxeViolation[])
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes
          .slice(0, 3)
          .map((node) => `${JSON.stringify(node.target)} ${node.html.slice(0, 300)}`)
          .join(', ')}`,
    );
  expect(serious, `accessibility of ${screen}`).toEqual([]);
}

/**
 * Saves a screenshot for the README (docs/images/console-<name>.png) when SCAIKEY_SCREENSHOTS is
 * set (`SCAIKEY_SCREENSHOTS=1 npx vitest run tests/console-*.test.ts`); otherwise does nothing.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.SCAIKEY_SCREENSHOTS) return;
  await page.screenshot({ path: join(root, 'docs', 'images', `console-${name}.png`) });
}

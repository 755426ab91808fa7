import { expect } from 'vitest';
import { TestBrowser } from './browser.js';
import { PASSWORD } from './sign-in.js';
import type { LiveApp } from './test-app.js';

/** A page as TestBrowser answers it. */
export type Page = Awaited<ReturnType<TestBrowser['request']>>;

/** The hosted account page of a tenant. */
export const accountUrl = (t: Pick<LiveApp, 'origin'>, slug: string) =>
  `${t.origin}/api/v1/auth/tenants/${slug}/account`;

/** The form of a page with this id: its action and hidden fields (its CSRF token among them). */
export function formOf(page: Page, id: string) {
  const start = page.body.indexOf(`id="${id}"`);
  if (start < 0) throw new Error(`no form ${id} on page:\n${page.body.slice(0, 2000)}`);
  const open = page.body.lastIndexOf('<form', start);
  const end = page.body.indexOf('</form>', start);
  const form = page.body.slice(open, end);
  const action = /action="([^"]*)"/.exec(form)?.[1] as string;
  const hidden = Object.fromEntries(
    [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]),
  );
  return { action: new URL(action.replace(/&amp;/g, '&'), page.url).toString(), hidden };
}

/** Submits the form `id` of a page with `fields` and follows the answer to the next page. */
export const submit = (browser: TestBrowser, page: Page, id: string, fields: Record<string, string> = {}) => {
  const form = formOf(page, id);
  return browser.follow(form.action, { form: { ...form.hidden, ...fields } });
};

/** A new browser signed in (with `PASSWORD`) at the account page through the tenant's hosted sign-in. */
export async function signInToAccount(t: Pick<LiveApp, 'origin'>, user: { email: string }, slug: string) {
  const browser = new TestBrowser(t.origin);
  const signInPage = await browser.follow(accountUrl(t, slug));
  expect(signInPage.body).toContain('name="password"');
  const page = await browser.submitForm(signInPage, { email: user.email, password: PASSWORD });
  expect(page.status).toBe(200);
  expect(page.body).toContain(user.email);
  return { browser, page };
}

/** The backup codes a page shows. */
export const backupCodesOf = (page: Page) =>
  [...page.body.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1] as string);

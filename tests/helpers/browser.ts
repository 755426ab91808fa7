import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium, installed by .ci/run (never a downloaded browser). */
export const CHROMIUM = '/usr/bin/chromium';
/** Whether the browser tests can run here (describe.runIf). */
export const hasChromium = existsSync(CHROMIUM);

/** A headless chromium for a test file, driven by playwright-core; the file closes it. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/**
 * A minimal browser for HTTP-level sign-in tests: a cookie jar and manual redirects, so a test
 * sees every page and every redirect as a real browser would get them.
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, index);
      const value = (pair as string).slice(index + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(cookie) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
      url,
    };
  }

  /**
   * Follows redirects while they stay on ScaiKey's origin; stops at a page (2xx/4xx) or at a
   * redirect elsewhere (the application's callback), which it returns without fetching.
   */
  async follow(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    let current = await this.request(url, init);
    for (let hops = 0; hops < 10 && current.location; hops++) {
      const next = new URL(current.location, current.url).toString();
      if (!next.startsWith(this.origin)) return { ...current, location: next };
      current = await this.request(next);
    }
    return current;
  }

  /** Confirms the sign-out page (its form posts the XSRF secret; the "Sign out" button sends logout=yes). */
  async submitLogout(page: { body: string; url: string }) {
    if (!/<button type="submit" name="logout" value="yes"/.test(page.body))
      throw new Error(`no sign-out button:\n${page.body.slice(0, 500)}`);
    return this.submitForm(page, { logout: 'yes' });
  }

  /** Reads the login form of a page and submits it. */
  async submitForm(page: { body: string; url: string }, fields: Record<string, string>) {
    const action = /<form method="post"(?: action="([^"]*)")?/.exec(page.body);
    if (!action) throw new Error(`no form on page:\n${page.body.slice(0, 500)}`);
    // The hidden fields of this (the first) form only.
    const end = page.body.indexOf('</form>', action.index);
    const form = page.body.slice(action.index, end < 0 ? undefined : end);
    const hidden = Object.fromEntries(
      [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        decode(m[2] as string),
      ]),
    );
    const target = new URL(decode(action[1] ?? ''), page.url).toString();
    return this.follow(target, { form: { ...hidden, ...fields } });
  }
}

function decode(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

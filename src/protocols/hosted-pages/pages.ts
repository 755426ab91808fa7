import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { checkedBranding, type PageBranding } from '../../lib/html-page.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The templates, next to this file. A build (`tsc`, dist/src/protocols/hosted-pages/) copies no
 * `.eta` file, so the server started from dist/ reads them from the source folder it was built
 * from (four levels up: dist/src/protocols/hosted-pages → the checkout).
 */
export const VIEWS = existsSync(join(here, 'views'))
  ? join(here, 'views')
  : join(here, '..', '..', '..', '..', 'src', 'protocols', 'hosted-pages', 'views');

/** The one template engine of the hosted pages: every `<%= %>` escapes HTML; templates cached. */
export const eta = new Eta({ views: VIEWS, autoEscape: true, cache: true });

/** The templates in views/ (each laid out by layout.eta). */
export type PageView =
  | 'account'
  | 'account-backup-codes'
  | 'account-email-code'
  | 'account-sms-code'
  | 'account-totp'
  | 'error'
  | 'forgot-password'
  | 'mfa'
  | 'mfa-backup-codes'
  | 'mfa-enroll'
  | 'notice'
  | 'password-change'
  | 'platform-email'
  | 'set-password'
  | 'sign-in'
  | 'sign-out'
  | 'verify-email';

/** What every page shows besides its own data: the title and the checked branding. */
export function pageData(branding: PageBranding, title: string, data: Record<string, unknown> = {}) {
  return { ...data, title, brand: checkedBranding(branding) };
}

/**
 * A complete page as a string, for pages rendered outside a Fastify reply (oidc-provider's own
 * pages: sign-out, provider errors).
 */
export function renderPage(
  view: PageView,
  branding: PageBranding,
  title: string,
  data: Record<string, unknown> = {},
): string {
  return eta.render(`./${view}`, pageData(branding, title, data));
}

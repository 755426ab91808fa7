import { escapeHtml } from './html.js';

const HEX = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const EMAIL = /^[^\s@<>"'&]{1,64}@[^\s@<>"'&]{1,255}$/;

/**
 * Branding a hosted page shows (a tenant's `branding`, see tenant-settings.ts `pageBranding`).
 * The API validates every field; the page checks each again and leaves out what does not pass
 * (rows written before a rule existed), so that no value can leave its HTML attribute or CSS
 * declaration: colours are hex only, URLs https only.
 */
export interface PageBranding {
  name: string;
  primaryColor?: unknown;
  backgroundColor?: unknown;
  textColor?: unknown;
  logoUrl?: unknown;
  faviconUrl?: unknown;
  supportEmail?: unknown;
}

/**
 * Headers of every hosted HTML page (sign-in, sign-out, provider errors, password links): no
 * framing, no referrer (tokens travel in URLs), no caching, and a CSP without any script. Images
 * (the tenant's logo and favicon) may come from any https origin; styles are the page's own inline
 * `<style>` (no script can run, so inline style cannot be used to inject one).
 */
export const HTML_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src https:; form-action 'self' https: http:; " +
    "frame-ancestors 'none'; base-uri 'none'",
};

/**
 * The CSP of a hosted page that loads its passkey script (sign-in, second factor, forced
 * enrollment when the tenant allows passkeys): the headers above, plus scripts and fetch from
 * ScaiKey's own origin only (no inline script, no other origin).
 */
export const SCRIPT_PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src https:; " +
  "form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'";

const color = (value: unknown, fallback: string) =>
  typeof value === 'string' && HEX.test(value) ? value : fallback;

/** An absolute https URL, normalized, or null. */
function httpsUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Branding as a page may show it: every value checked again, what does not pass left out. */
export interface CheckedBranding {
  name: string;
  primary: string;
  background: string;
  text: string;
  logo: string | null;
  favicon: string | null;
  support: string | null;
}

/**
 * The values of `branding` a page may put into HTML attributes and CSS (hex colours with
 * defaults, https URLs, a plain email address); the rest is dropped.
 */
export function checkedBranding(branding: PageBranding): CheckedBranding {
  return {
    name: branding.name,
    primary: color(branding.primaryColor, '#1f5fbf'),
    background: color(branding.backgroundColor, '#ffffff'),
    text: color(branding.textColor, '#1a1a1a'),
    logo: httpsUrl(branding.logoUrl),
    favicon: httpsUrl(branding.faviconUrl),
    support:
      typeof branding.supportEmail === 'string' && EMAIL.test(branding.supportEmail)
        ? branding.supportEmail
        : null,
  };
}

/**
 * A complete HTML page for the hosted pages: no script, no external asset but the tenant's logo
 * and favicon; the tenant's name, colours, logo, favicon and support address; readable at any
 * width. `body` is trusted HTML.
 */
export function htmlPage(branding: PageBranding, title: string, body: string): string {
  const { primary, background, text, logo, favicon, support } = checkedBranding(branding);
  const name = escapeHtml(branding.name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${name}</title>
${favicon ? `<link rel="icon" href="${escapeHtml(favicon)}">\n` : ''}<style>
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; color: ${text}; background: ${background}; }
h1 { font-size: 1.4rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: .6rem; margin-top: .3rem; font-size: 1rem; }
button { margin-top: 1.5rem; margin-right: .5rem; padding: .7rem 1.2rem; font-size: 1rem; color: #fff; background: ${primary}; border: 2px solid ${primary}; border-radius: 4px; }
button.secondary { color: ${primary}; background: transparent; }
a { color: ${primary}; }
.brand { display: flex; align-items: center; gap: .6rem; }
.brand img { max-height: 3rem; max-width: 12rem; }
.error { color: #a40000; background: #fdecec; padding: .7rem; border-radius: 4px; }
.note { font-size: .9rem; }
</style>
</head>
<body>
<main>
<p class="brand">${logo ? `<img src="${escapeHtml(logo)}" alt="">` : ''}<span>${name}</span></p>
<h1>${escapeHtml(title)}</h1>
${body}
${support ? `<p class="note">Need help? <a href="mailto:${escapeHtml(support)}">${escapeHtml(support)}</a></p>\n` : ''}</main>
</body>
</html>`;
}

/** An error paragraph announced to assistive technology. */
export function errorParagraph(message: string): string {
  return `<p class="error" role="alert">${escapeHtml(message)}</p>`;
}

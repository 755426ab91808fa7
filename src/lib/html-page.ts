import { escapeHtml } from './html.js';

const HEX = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** Branding a hosted page may use (validated tenant branding; anything else falls back). */
export interface PageBranding {
  name: string;
  primaryColor?: unknown;
}

/**
 * A complete, self-contained HTML page for the hosted sign-in pages: no external assets, no
 * script, the tenant's name and primary colour, readable at any width. `body` is trusted HTML.
 */
export function htmlPage(branding: PageBranding, title: string, body: string): string {
  const primary =
    typeof branding.primaryColor === 'string' && HEX.test(branding.primaryColor)
      ? branding.primaryColor
      : '#1f5fbf';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(branding.name)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.4rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: .6rem; margin-top: .3rem; font-size: 1rem; }
button { margin-top: 1.5rem; padding: .7rem 1.2rem; font-size: 1rem; color: #fff; background: ${primary}; border: 0; border-radius: 4px; }
.error { color: #a40000; background: #fdecec; padding: .7rem; border-radius: 4px; }
</style>
</head>
<body>
<main>
<p>${escapeHtml(branding.name)}</p>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

/** An error paragraph announced to assistive technology. */
export function errorParagraph(message: string): string {
  return `<p class="error" role="alert">${escapeHtml(message)}</p>`;
}

/**
 * A minimal browser for sign-ins that cross tenants of one ScaiKey (federation with a second
 * tenant as the upstream provider): like TestBrowser (cookie jar, manual redirects) but its cookies
 * keep their Path (RFC 6265 §5.1.4), since each tenant's cookies have the same names under their
 * own path (/api/v1/auth/tenants/{slug}/).
 */
export interface Page {
  status: number;
  location: string | null;
  body: string;
  url: string;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/') || path.lastIndexOf('/') === 0) return '/';
  return path.slice(0, path.lastIndexOf('/'));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class PathBrowser {
  readonly #cookies = new Map<string, Cookie>();

  constructor(readonly origin: string) {}

  async request(url: string, init: { form?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    const cookies = [...this.#cookies.values()]
      .filter((cookie) => pathMatches(target.pathname, cookie.path))
      // Longer paths first (RFC 6265 §5.4).
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`);
    if (cookies.length > 0) headers.cookie = cookies.join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.form ? 'POST' : 'GET',
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      let path = defaultPath(target);
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', attributeValue = ''] = attribute.split('=').map((part) => part.trim());
        if (key.toLowerCase() === 'path' && attributeValue.startsWith('/')) path = attributeValue;
        if (key.toLowerCase() === 'max-age' && Number(attributeValue) <= 0) expired = true;
        if (key.toLowerCase() === 'expires' && Date.parse(attributeValue) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
      url,
    };
  }

  /**
   * Follows redirects while they stay on the origin; stops at a page or at a redirect elsewhere
   * (an application's callback, an outside provider), which it returns without fetching.
   */
  async follow(url: string, init: { form?: Record<string, string> } = {}): Promise<Page> {
    let current = await this.request(url, init);
    for (let hops = 0; hops < 20 && current.location; hops++) {
      const next = new URL(current.location, current.url);
      if (next.origin !== this.origin) return { ...current, location: next.href };
      current = await this.request(next.href);
    }
    return current;
  }

  /** Reads the first form of a page and submits it with its hidden fields and `fields`. */
  async submitForm(page: Page, fields: Record<string, string>): Promise<Page> {
    const action = /<form method="post"(?: action="([^"]*)")?/.exec(page.body);
    if (!action) throw new Error(`no form on page:\n${page.body.slice(0, 500)}`);
    const end = page.body.indexOf('</form>', action.index);
    const form = page.body.slice(action.index, end < 0 ? undefined : end);
    const hidden = Object.fromEntries(
      [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        decodeHtml(m[2] as string),
      ]),
    );
    const target = new URL(decodeHtml(action[1] ?? ''), page.url).toString();
    return this.follow(target, { form: { ...hidden, ...fields } });
  }
}

export function decodeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

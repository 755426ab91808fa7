/**
 * What the server tells the console about itself, in two meta tags it writes into index.html
 * (src/protocols/console): the console's client id and addresses, and the CSP nonce that lets
 * Mantine's style tags through the page's `style-src`.
 */
export interface ConsoleConfig {
  client_id: string;
  public_url: string;
  platform_issuer: string;
}

function meta(name: string): string | null {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? null;
}

function readConfig(): ConsoleConfig {
  const raw = meta('scaikey-console');
  if (!raw) throw new Error('The console must be opened through the ScaiKey server (/console/).');
  return JSON.parse(raw) as ConsoleConfig;
}

export const consoleConfig: ConsoleConfig = readConfig();

/** The nonce of this page load's CSP (`style-src 'nonce-…'`). */
export const cspNonce: string = meta('csp-nonce') ?? '';

/** Where the authorization server sends the browser back (registered on the console application). */
export const callbackUrl = `${consoleConfig.public_url}/console/callback`;

/** Where the tenant's logout page sends the browser after signing out. */
export const signedOutUrl = `${consoleConfig.public_url}/console/`;

/** The issuer of a tenant's OpenID provider. */
export const tenantIssuer = (slug: string) => `${consoleConfig.public_url}/api/v1/auth/tenants/${slug}`;

/** The scopes the console asks for: who the person is, a refresh token, and the admin API. */
export const CONSOLE_SCOPES = 'openid profile email offline_access admin:read admin:write';

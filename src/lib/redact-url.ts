/**
 * Query parameters whose values are secrets or personal data: mailed link tokens, OAuth codes and
 * tokens, `id_token_hint`, `login_hint` (an email address) and `state` (which clients may use to
 * carry their own secrets). Compared in lower case.
 */
const SECRET_QUERY_NAMES = new Set([
  'token',
  'id_token_hint',
  'access_token',
  'code',
  'login_hint',
  'state',
  'id_token',
  'refresh_token',
  'client_secret',
  'password',
]);

export const REDACTED = '[REDACTED]';

function queryName(part: string): string {
  const equals = part.indexOf('=');
  const raw = (equals === -1 ? part : part.slice(0, equals)).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * A request URL (path and query) fit for a log line: the value of every secret-carrying query
 * parameter (`token`, `id_token_hint`, `access_token`, `code`, `login_hint`, `state`, …; names
 * compared case-insensitively, percent-encoded names decoded) is replaced by `[REDACTED]`. The rest
 * of the URL is kept as it came, so a URL without a query is returned unchanged at no cost.
 */
export function redactUrl(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return url;
  const parts = url.slice(question + 1).split('&');
  let changed = false;
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as string;
    const equals = part.indexOf('=');
    if (equals === -1 || !SECRET_QUERY_NAMES.has(queryName(part))) continue;
    parts[index] = `${part.slice(0, equals + 1)}${REDACTED}`;
    changed = true;
  }
  return changed ? `${url.slice(0, question + 1)}${parts.join('&')}` : url;
}

import type { Work } from '../../platform/events/unit-of-work.js';
import { createBootstrapRepository } from './bootstrap.repository.js';

/**
 * The admin console's OAuth client (docs/console.md, docs/adr/0014-admin-console.md): a fixed id,
 * so that the console (served by this server at /console/) names it without any configuration.
 */
export const CONSOLE_CLIENT_ID = 'app_scaikeyconsole000000';

/** What the console asks for: identity, a refresh token (offline_access: an SPA gets one only so) and the admin API. */
export const CONSOLE_SCOPES = ['openid', 'profile', 'email', 'offline_access', 'admin:read', 'admin:write'];

const CALLBACK_PATH = '/console/callback';
const HOME_PATH = '/console/';

/** The console's redirect URIs at a public URL. */
export function consoleRedirectUris(publicUrl: string): { redirect: string; postLogout: string } {
  return { redirect: `${publicUrl}${CALLBACK_PATH}`, postLogout: `${publicUrl}${HOME_PATH}` };
}

/**
 * Keeps a URI list's console entry on the current public URL: entries of the console at another
 * public URL (ending with `suffix`) are dropped, `current` is put first, anything else an
 * administrator added stays. Null when the list is already right.
 */
function repaired(list: readonly string[], current: string, suffix: string): string[] | null {
  if (list.includes(current)) return null;
  return [current, ...list.filter((uri) => !uri.endsWith(suffix))];
}

/**
 * Creates the console application, or brings it back in line, on every start (under the
 * bootstrap's lock and unit of work, audited as the system):
 * - missing: created (GLOBAL, SPA: a public client with PKCE; no assignment required);
 * - deleted by an administrator: created again with its definition (the same id; a deleted console
 *   cannot be used, and there is no other way into it). Nothing of before the deletion comes back:
 *   its rotation time is set, so that access tokens issued before stay refused, and its grants
 *   (sign-ins, refresh tokens) are removed;
 * - redirect or post-logout URIs missing the current public URL's (SCAIKEY_PUBLIC_URL changed):
 *   those are set (entries of the console at another address dropped, others kept);
 * - disabled: stays disabled (the operator's choice), as do its other settings.
 */
export async function ensureConsoleApplication(w: Work, publicUrl: string): Promise<void> {
  const repository = createBootstrapRepository(w.db);
  const uris = consoleRedirectUris(publicUrl);
  const existing = await repository.findApplication(CONSOLE_CLIENT_ID);
  const definition = {
    scope: 'GLOBAL' as const,
    partner_id: null,
    tenant_id: null,
    application_type: 'SPA' as const,
    name: 'ScaiKey Console',
    description: "ScaiKey's admin console (/console/); ScaiKey creates it at every start when it is missing.",
    redirect_uris: [uris.redirect],
    post_logout_redirect_uris: [uris.postLogout],
    allowed_origins: [] as string[],
    allowed_scopes: CONSOLE_SCOPES,
    token_lifetime: 3600,
    assignment_required: false,
    require_pushed_authorization_requests: false,
    status: 'ACTIVE' as const,
  };
  const audited = { id: CONSOLE_CLIENT_ID, ...definition, client_secret_issued: false };
  const json = (list: readonly string[]) => JSON.stringify(list);
  const stored = {
    ...definition,
    client_secret_digest: null,
    redirect_uris: json(definition.redirect_uris),
    post_logout_redirect_uris: json(definition.post_logout_redirect_uris),
    allowed_origins: json(definition.allowed_origins),
    allowed_scopes: json(definition.allowed_scopes),
  };

  if (!existing) {
    await repository.insertApplication({ id: CONSOLE_CLIENT_ID, ...stored });
    w.audit({
      action: 'application.created',
      resourceType: 'application',
      resourceId: CONSOLE_CLIENT_ID,
      after: audited,
    });
    return;
  }
  if (existing.deleted_at) {
    await repository.restoreApplication(CONSOLE_CLIENT_ID, stored);
    const grantsEnded = await repository.endGrantsOfClient(CONSOLE_CLIENT_ID);
    w.audit({
      action: 'application.created',
      resourceType: 'application',
      resourceId: CONSOLE_CLIENT_ID,
      after: { ...audited, restored: true, grant_records_removed: grantsEnded },
    });
    w.invalidate(`application:${CONSOLE_CLIENT_ID}`);
    return;
  }
  const redirectUris = repaired(existing.redirect_uris, uris.redirect, CALLBACK_PATH);
  const postLogoutUris = repaired(existing.post_logout_redirect_uris, uris.postLogout, HOME_PATH);
  if (!redirectUris && !postLogoutUris) return;
  const changes: { redirect_uris?: string[]; post_logout_redirect_uris?: string[] } = {
    ...(redirectUris ? { redirect_uris: redirectUris } : {}),
    ...(postLogoutUris ? { post_logout_redirect_uris: postLogoutUris } : {}),
  };
  await repository.setApplicationRedirectUris(CONSOLE_CLIENT_ID, {
    redirect_uris: json(redirectUris ?? existing.redirect_uris),
    post_logout_redirect_uris: json(postLogoutUris ?? existing.post_logout_redirect_uris),
  });
  w.audit({
    action: 'application.updated',
    resourceType: 'application',
    resourceId: CONSOLE_CLIENT_ID,
    before: {
      ...(redirectUris ? { redirect_uris: existing.redirect_uris } : {}),
      ...(postLogoutUris ? { post_logout_redirect_uris: existing.post_logout_redirect_uris } : {}),
    },
    after: changes,
  });
  w.invalidate(`application:${CONSOLE_CLIENT_ID}`);
}

import type { Queryable } from '../../platform/db/database.js';

function safeOrigin(uri: string): string | null {
  try {
    return new URL(uri).origin;
  } catch {
    return null;
  }
}

/**
 * Whether `redirectUri` belongs to a live application a tenant's users use (its own, its
 * partner's, global ones): one of their redirect URIs, or a URI on the origin of one of them or of
 * their allowed origins. Where a page may send a user after a password reset (no open redirects).
 */
export async function isKnownRedirectTarget(
  db: Queryable,
  tenant: { id: string; partner_id: string },
  redirectUri: string,
): Promise<boolean> {
  const origin = new URL(redirectUri).origin;
  const applications = await db
    .selectFrom('applications')
    .select(['redirect_uris', 'allowed_origins'])
    .where('deleted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('tenant_id', '=', tenant.id),
        eb.and([eb('scope', '=', 'PARTNER'), eb('partner_id', '=', tenant.partner_id)]),
        eb('scope', '=', 'GLOBAL'),
      ]),
    )
    .execute();
  return applications.some(
    (app) =>
      app.redirect_uris.some((uri) => uri === redirectUri || safeOrigin(uri) === origin) ||
      app.allowed_origins.includes(origin),
  );
}

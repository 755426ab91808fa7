import { newId } from '../../lib/ids.js';
import { isStorableText } from '../../lib/text.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { createSessionsRepository } from './sessions.repository.js';

/** The longest User-Agent kept (real ones are a few hundred characters). */
const MAX_USER_AGENT = 512;

/**
 * What the tenant's OpenID provider tells the sessions module (src/protocols/oauth): a session
 * signed in or was used for an authorization. The first time, the session gets its public id and
 * the browser's address and user agent; later only its last activity moves.
 */
export async function noteSessionActivity(
  db: TenantQueryable,
  input: { userId: string; sessionUid: string; ipAddress: string | null; userAgent: string | null },
): Promise<void> {
  // Cut first, then check: a cut may separate a surrogate pair.
  const cut = input.userAgent?.slice(0, MAX_USER_AGENT) ?? null;
  const userAgent = cut && isStorableText(cut) ? cut : null;
  await createSessionsRepository(db).noteActivity({
    id: newId('session'),
    userId: input.userId,
    sessionUid: input.sessionUid,
    ipAddress: input.ipAddress,
    userAgent,
  });
}

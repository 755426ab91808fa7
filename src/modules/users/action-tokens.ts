import type { Kysely } from 'kysely';
import { generateSecret, sha256Hex } from '../../lib/secrets.js';
import type { Queryable } from '../../platform/db/database.js';
import type { Database } from '../../platform/db/schema.js';
import { bindTenant, type TenantQueryable } from '../../platform/db/tenant-scope.js';
import {
  type ActionPurpose,
  type ActionTokenRow,
  createActionTokensRepository,
} from './action-tokens.repository.js';

export type { ActionPurpose, ActionTokenRow } from './action-tokens.repository.js';

/**
 * How long a link works: an invitation a week, a password reset an hour (OWASP Forgot Password),
 * an email verification a day.
 */
export const TOKEN_LIFETIME_SECONDS: Record<ActionPurpose, number> = {
  INVITATION: 7 * 24 * 3600,
  PASSWORD_RESET: 3600,
  EMAIL_VERIFICATION: 24 * 3600,
};

/** The tokens repository of `tenantId` on `db` (bound here when the caller's handle is not). */
function tokensOf(db: Queryable | TenantQueryable, tenantId: string) {
  return createActionTokensRepository(bindTenant(db as Kysely<Database>, tenantId));
}

/**
 * Issues a single-use link token on a tenant-bound handle: 256 random bits, only its SHA-256
 * digest stored. Any earlier unused token of the same purpose for the user stops working.
 */
export async function issueTenantActionToken(
  db: TenantQueryable,
  userId: string,
  purpose: ActionPurpose,
  redirectUri: string | null = null,
): Promise<{ token: string; expiresAt: Date }> {
  const tokens = createActionTokensRepository(db);
  const token = generateSecret();
  const expiresAt = new Date(Date.now() + TOKEN_LIFETIME_SECONDS[purpose] * 1000);
  await tokens.voidOpen(userId, purpose);
  await tokens.insert({ userId, purpose, digest: sha256Hex(token), redirectUri, expiresAt });
  return { token, expiresAt };
}

/** issueTenantActionToken for a caller holding an ordinary handle and the tenant's id (sign-in pages). */
export function issueActionToken(
  db: Queryable,
  tenantId: string,
  userId: string,
  purpose: ActionPurpose,
  redirectUri: string | null = null,
): Promise<{ token: string; expiresAt: Date }> {
  return issueTenantActionToken(bindTenant(db as Kysely<Database>, tenantId), userId, purpose, redirectUri);
}

/**
 * The purposes of the links that set a password (the set-password page): an email verification
 * link must never set one, so a caller names what it accepts, and these are the default.
 */
export const PASSWORD_LINK_PURPOSES: readonly ActionPurpose[] = ['INVITATION', 'PASSWORD_RESET'];

/** A live (unused, unexpired) token of this tenant and of one of `purposes`, without using it up. */
export function peekActionToken(
  db: Queryable,
  tenantId: string,
  token: string,
  purposes: readonly ActionPurpose[] = PASSWORD_LINK_PURPOSES,
): Promise<ActionTokenRow | undefined> {
  return tokensOf(db, tenantId).peek(token, purposes);
}

/** Uses a token of one of `purposes` up, atomically: of two concurrent uses exactly one gets the row. */
export function consumeActionToken(
  db: Queryable,
  tenantId: string,
  token: string,
  purposes: readonly ActionPurpose[] = PASSWORD_LINK_PURPOSES,
): Promise<ActionTokenRow | undefined> {
  return tokensOf(db, tenantId).consume(token, purposes);
}

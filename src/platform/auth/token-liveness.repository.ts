import { sql } from 'kysely';
import type { Queryable } from '../db/database.js';

/** Whether the token `jti` was revoked (RFC 7009) before it expired. */
export async function isTokenRevoked(db: Queryable, jti: string): Promise<boolean> {
  const row = await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
  return row !== undefined;
}

/** Whether a user token's subject is an ACTIVE user of a live, ACTIVE tenant and partner. */
export async function isSubjectActive(db: Queryable, tenantId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('users as u')
    .innerJoin('tenants as t', 't.id', 'u.tenant_id')
    .innerJoin('partners as p', 'p.id', 't.partner_id')
    .select(sql<number>`1`.as('one'))
    .where('u.tenant_id', '=', tenantId)
    .where('u.id', '=', userId)
    .where('u.deleted_at', 'is', null)
    .where('u.status', '=', 'ACTIVE')
    .where('t.deleted_at', 'is', null)
    .where('t.status', '=', 'ACTIVE')
    .where('p.deleted_at', 'is', null)
    .where('p.status', '=', 'ACTIVE')
    .executeTakeFirst();
  return row !== undefined;
}

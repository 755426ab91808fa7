import type { SelectQueryBuilder } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { toUserListItem } from './user-list-item.js';
import { createUsersRepository } from './users.repository.js';
import type { UserListItem } from './users.schemas.js';

/** The OUs whose users to list: their ids, or a subquery selecting them (an OU's subtree). */
export type OuIds = string[] | SelectQueryBuilder<Database, 'ous', { id: string }>;

/**
 * A page of the live users placed in the OUs `ouIds` (the organizational units module lists an
 * OU's users with it), newest first as the users list, with the number of them.
 */
export async function listUsersInOu(
  db: TenantQueryable,
  ouIds: OuIds,
  page: { limit: number; offset: number },
): Promise<{ items: UserListItem[]; total: number }> {
  const users = createUsersRepository(db);
  const narrow = (query: Parameters<Parameters<typeof users.count>[0]>[0]) =>
    query.where('u.ou_id', 'in', ouIds);
  const [rows, total] = await Promise.all([
    users.listItems(narrow, page.limit, page.offset),
    users.count(narrow),
  ]);
  return { items: rows.map(toUserListItem), total };
}

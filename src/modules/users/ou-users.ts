import type { PageRequest } from '../../lib/pagination.js';
import { pageOffset } from '../../lib/pagination.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { toUserListItem } from './user-list-item.js';
import { createUsersRepository } from './users.repository.js';
import type { UserListItem } from './users.schemas.js';

/**
 * The live users of a tenant placed in any of the OUs `ouIds` (an OU, or an OU and its subtree),
 * as lists show them, newest first: one page and the total. For the OU user list (ous module).
 */
export async function listUsersInOu(
  db: TenantQueryable,
  ouIds: readonly string[],
  page: PageRequest,
): Promise<{ items: UserListItem[]; total: number }> {
  const [rows, total] = await createUsersRepository(db).listInOus(ouIds, page.perPage, pageOffset(page));
  return { items: rows.map(toUserListItem), total };
}

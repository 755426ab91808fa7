import type { Queryable } from '../../platform/db/database.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { createGroupsRepository, type UserGroupMembershipRow } from './groups.repository.js';

/**
 * What other modules and protocols use of group memberships (through the face, index.ts). Each
 * function takes a tenant-bound handle; the older form, an ordinary handle and the tenant id,
 * still works for callers not converted yet.
 */

export type { UserGroupMembershipRow };

/**
 * The groups a user belongs to, inherited ones included (docs/api-contract.md, "Groups"): every live group
 * the user is an effective member of, `DIRECT` where the user is a direct member, else `INHERITED`
 * (a member of a group nested in it). Ordered by name. Empty for an unknown or deleted user.
 */
export async function userGroupMemberships(
  db: TenantQueryable,
  userId: string,
): Promise<UserGroupMembershipRow[]>;
export async function userGroupMemberships(
  db: Queryable,
  tenantId: string,
  userId: string,
): Promise<UserGroupMembershipRow[]>;
export async function userGroupMemberships(
  db: Queryable | TenantQueryable,
  first: string,
  second?: string,
): Promise<UserGroupMembershipRow[]> {
  return second === undefined
    ? createGroupsRepository(db as TenantQueryable).userGroups(first)
    : createGroupsRepository(db as Queryable, first).userGroups(second);
}

/**
 * The ids of the users in a group, as a subquery for `where('u.id', 'in', ...)`: its direct
 * members, or with `effective` every user reachable through nested groups too. It does not filter
 * deleted users (the outer users query does). A deleted or unknown group has no members. The
 * subquery carries its tenant predicate itself, whatever handle runs the outer statement.
 */
export function usersInGroupSubquery(
  db: TenantQueryable,
  groupId: string,
  options: { effective: boolean },
): ReturnType<ReturnType<typeof createGroupsRepository>['usersInGroup']>;
export function usersInGroupSubquery(
  db: Queryable,
  tenantId: string,
  groupId: string,
  options: { effective: boolean },
): ReturnType<ReturnType<typeof createGroupsRepository>['usersInGroup']>;
export function usersInGroupSubquery(
  db: Queryable | TenantQueryable,
  first: string,
  second: string | { effective: boolean },
  third?: { effective: boolean },
) {
  if (typeof second === 'string') {
    return createGroupsRepository(db as Queryable, first).usersInGroup(
      second,
      (third as { effective: boolean }).effective,
    );
  }
  return createGroupsRepository(db as TenantQueryable).usersInGroup(first, second.effective);
}

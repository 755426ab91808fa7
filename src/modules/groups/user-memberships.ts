import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { createGroupsRepository } from './groups.repository.js';

/**
 * What the users module changes of a user's group memberships, through the groups repository so
 * that the closure stays maintained. Every function runs in the caller's transaction on a
 * tenant-bound handle.
 */

/**
 * Takes the tenant's group graph lock (every group write takes it first): call it before locking
 * the user when the change will end or add memberships, so that no membership slips in between.
 */
export async function lockGroupGraph(db: TenantQueryable): Promise<void> {
  await createGroupsRepository(db).lockGraph();
}

/** Makes the user a direct member of each of `groupIds` (live groups of the tenant); takes the graph lock. */
export async function addUserToGroups(
  db: TenantQueryable,
  userId: string,
  groupIds: readonly string[],
): Promise<void> {
  if (groupIds.length === 0) return;
  const groups = createGroupsRepository(db);
  await groups.lockGraph();
  for (const groupId of groupIds) await groups.addMembers(groupId, [userId]);
}

/** Ends the user's direct memberships of `groupIds`; the caller holds the graph lock. */
export async function removeUserFromGroups(
  db: TenantQueryable,
  userId: string,
  groupIds: readonly string[],
): Promise<void> {
  const groups = createGroupsRepository(db);
  for (const groupId of groupIds) await groups.removeMembers(groupId, [userId]);
}

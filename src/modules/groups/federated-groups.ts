import { newId } from '../../lib/ids.js';
import type { TenantTx } from '../../platform/db/tenant-scope.js';
import type { Work } from '../../platform/events/unit-of-work.js';
import { createGroupsRepository } from './groups.repository.js';

/**
 * What federation does to groups (group mapping, docs/federation.md): find the groups a mapping
 * names, create the ones named but missing, and make a user's direct memberships of the mapped
 * groups follow the provider. Runs in the caller's unit of work under the group graph lock.
 */

/** The live groups of `names` by name, created (SECURITY, top level) when missing. */
export async function groupsByName(
  w: Work<TenantTx>,
  tenant: { id: string; partner_id: string },
  names: readonly string[],
): Promise<Map<string, string>> {
  const repository = createGroupsRepository(w.db);
  await repository.lockGraph();
  const found = new Map<string, string>();
  for (const name of new Set(names)) {
    const existing = await repository.findByName(name);
    if (existing) {
      found.set(name, existing.id);
      continue;
    }
    const row = {
      id: newId('group'),
      name,
      description: 'Created by an identity provider’s group mapping',
      group_type: 'SECURITY' as const,
      parent_group_id: null,
      custom_attributes: null,
    };
    await repository.insert(row);
    w.audit({
      action: 'group.created',
      resourceType: 'group',
      resourceId: row.id,
      tenantId: tenant.id,
      partnerId: tenant.partner_id,
      after: { ...row, initial_members: [] },
    });
    found.set(name, row.id);
  }
  return found;
}

/**
 * Makes the user a direct member of exactly `wanted` among `managed` (the groups the provider's
 * mapping names): adds the missing, removes the others. Returns what changed.
 */
export async function syncMappedMemberships(
  w: Work<TenantTx>,
  tenant: { id: string; partner_id: string },
  userId: string,
  managed: readonly string[],
  wanted: readonly string[],
): Promise<{ added: string[]; removed: string[] }> {
  const repository = createGroupsRepository(w.db);
  await repository.lockGraph();
  const direct = new Set(await repository.directGroupsOfUser(userId));
  const added: string[] = [];
  const removed: string[] = [];
  const audit = (action: string, groupId: string) =>
    w.audit({
      action,
      resourceType: 'group',
      resourceId: groupId,
      tenantId: tenant.id,
      partnerId: tenant.partner_id,
      after: { user_ids: [userId], source: 'identity_provider' },
    });
  for (const groupId of new Set(wanted)) {
    if (direct.has(groupId)) continue;
    await repository.addMembers(groupId, [userId]);
    audit('group.member_added', groupId);
    added.push(groupId);
  }
  const wantedSet = new Set(wanted);
  for (const groupId of new Set(managed)) {
    if (wantedSet.has(groupId) || !direct.has(groupId)) continue;
    await repository.removeMembers(groupId, [userId]);
    audit('group.member_removed', groupId);
    removed.push(groupId);
  }
  return { added, removed };
}

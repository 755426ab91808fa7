import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { AppError, notFound } from '../../platform/errors.js';
import { iso } from '../../platform/http.js';
import { type RowCache, rowKey } from '../../platform/row-cache.js';
import type { TenantScope } from '../../platform/tenancy.js';
import { type AdminGroupListFilter, createGroupsCrossTenant } from './groups.cross-tenant.js';
import {
  createGroupsRepository,
  type GroupListFilter,
  type GroupListRow,
  type GroupRow,
  type GroupsRepository,
  type MemberRow,
} from './groups.repository.js';
import type {
  GroupCreate,
  GroupDeleteStrategy,
  GroupListItem,
  GroupMemberInfo,
  GroupResponse,
  GroupUpdate,
  NestedGroupInfo,
} from './groups.schemas.js';

/** How many direct members `include=members` (and child groups `include=nested_groups`) returns at most. */
export const INCLUDE_LIMIT = 1000;

export interface GroupIncludes {
  members: boolean;
  nestedGroups: boolean;
}

const groupNotFound = () => notFound('Group');
const cycle = () =>
  new AppError('GROUP_CYCLE', 'A group cannot be nested in itself or in one of its descendants');

function unique(ids: readonly string[] | undefined): string[] {
  return [...new Set(ids ?? [])];
}

function toListItem(row: GroupListRow): GroupListItem {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    group_type: row.group_type,
    member_count: row.member_count,
    parent_group_id: row.parent_group_id,
  };
}

function toMemberInfo(row: MemberRow): GroupMemberInfo {
  return {
    user_id: row.user_id,
    email: row.email,
    display_name: row.display_name,
    membership_type: row.direct ? 'DIRECT' : 'INHERITED',
  };
}

/** Parses `include=members,nested_groups` (the schema has checked its form). */
export function parseIncludes(include: string | null | undefined): GroupIncludes {
  const parts = new Set((include ?? '').split(',').map((part) => part.trim()));
  return { members: parts.has('members'), nestedGroups: parts.has('nested_groups') };
}

/** Refuses (404, nothing changed) when any of `ids` is not a live user of the tenant. */
async function assertLiveUsers(repository: GroupsRepository, ids: readonly string[]): Promise<void> {
  const found = await repository.liveUserIds(ids);
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw notFound(`User ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  }
}

/** Adds the edge parent → child under the graph lock, refusing one that would close a cycle. */
async function link(
  repository: GroupsRepository,
  parentId: string,
  childId: string,
  kind: 'HIERARCHY' | 'NESTED',
) {
  // A cycle appears exactly when the parent is already reachable from the child (or is the child).
  if (await repository.reaches(childId, parentId)) throw cycle();
  const existing = await repository.edge(parentId, childId);
  if (!existing) {
    await repository.addEdge(parentId, childId, kind);
    return true;
  }
  // A NESTED edge that becomes the hierarchy parent changes kind; the paths stay the same.
  if (kind === 'HIERARCHY' && existing.kind !== 'HIERARCHY') {
    await repository.setEdgeKind(parentId, childId, 'HIERARCHY');
  }
  return false;
}

/**
 * Groups (the groups API (docs/openapi.json); docs/api-contract.md "Groups"): one set of operations on the groups of a tenant,
 * which the tenant routes and their admin twins both call with the scope of the group's tenant.
 * Every write takes the tenant's group-graph lock first, so cycle checks and the maintained
 * closures see one change at a time (groups.repository.ts).
 *
 * `db` serves the cross-tenant queries only (the admin list, finding a group's tenant); the
 * tenant's rows are reached through the scope's tenant-bound handles. `cache` keeps live group rows
 * by id for the reads that need the row alone (finding a group's tenant, checking that the group of
 * a member or nesting page exists): docs/adr/0015-directory-row-cache.md. Writes read the row
 * from the database, under the group-graph lock.
 */
export function createGroupsService(db: Db, cache: RowCache) {
  const acrossTenants = createGroupsCrossTenant(db);

  /** The live group `id` of the scope's tenant, from the row cache; a 404 when there is none. */
  async function readGroup(scope: TenantScope, id: string): Promise<GroupRow> {
    const row = isId('group', id)
      ? await cache.read(rowKey('group', id), () => createGroupsRepository(scope.db).find(id))
      : undefined;
    // A kept row may have been read for another tenant's scope: the tenant-bound query's filter.
    if (!row || row.tenant_id !== scope.tenant.id) throw groupNotFound();
    return row;
  }

  async function mustFind(repository: GroupsRepository, id: string): Promise<GroupRow> {
    const row = isId('group', id) ? await repository.find(id) : undefined;
    if (!row) throw groupNotFound();
    return row;
  }

  async function response(
    handle: TenantQueryable,
    id: string,
    includes: GroupIncludes = { members: false, nestedGroups: false },
  ): Promise<GroupResponse> {
    const repository = createGroupsRepository(handle);
    const row = isId('group', id) ? await repository.details(id) : undefined;
    if (!row) throw groupNotFound();
    const [members, nested] = await Promise.all([
      includes.members ? repository.directMembers(id, INCLUDE_LIMIT, 0) : null,
      includes.nestedGroups ? repository.childGroups(id, INCLUDE_LIMIT, 0) : null,
    ]);
    return {
      name: row.name,
      description: row.description,
      group_type: row.group_type,
      id: row.id,
      tenant_id: row.tenant_id,
      parent_group_id: row.parent_group_id,
      parent_group_path: row.parent_group_path,
      member_count: row.member_count,
      effective_member_count: row.effective_member_count,
      nested_group_count: row.nested_group_count,
      members: members ? members.map(toMemberInfo) : null,
      nested_groups: nested
        ? nested.map((child) => ({
            group_id: child.group_id,
            name: child.name,
            member_count: child.member_count,
          }))
        : null,
      custom_attributes: row.custom_attributes,
      created_at: row.created_at.toISOString(),
      updated_at: iso(row.updated_at),
    };
  }

  /** The audit entry of a change to group `groupId` of the scope's tenant. */
  type Audit = (action: string, groupId: string, data: object) => void;

  /** Runs `body` in a unit of work of the tenant holding its group-graph lock. */
  function locked<T>(
    scope: TenantScope,
    body: (repository: GroupsRepository, audit: Audit) => Promise<T>,
  ): Promise<T> {
    return scope.work(async (work) => {
      const repository = createGroupsRepository(work.db);
      await repository.lockGraph();
      const audit: Audit = (action, groupId, data) =>
        work.audit({
          action,
          resourceType: 'group',
          resourceId: groupId,
          tenantId: scope.tenant.id,
          partnerId: scope.tenant.partner_id,
          ...data,
        });
      return body(repository, audit);
    });
  }

  return {
    /**
     * The tenant of the live group `groupId`, for the admin routes that address a group by id; a
     * 404 when there is none. Whether that tenant is live and the caller may see it is the scope's
     * check (request.scopeForTenant). The group row comes from the row cache.
     */
    async tenantOf(groupId: string): Promise<string> {
      const row = isId('group', groupId)
        ? await cache.read(rowKey('group', groupId), () => acrossTenants.findLive(groupId))
        : undefined;
      if (!row) throw groupNotFound();
      return row.tenant_id;
    },

    /** Groups of every tenant the caller may see (the admin list). */
    async listAcrossTenants(rights: AdminRights, filter: AdminGroupListFilter, page: PageRequest) {
      const scoped: AdminGroupListFilter = {
        ...filter,
        onlyPartnerId: rights.level === 'partner_admin' ? (rights.partnerId ?? '') : null,
        onlyTenantId: rights.level === 'tenant_admin' ? (rights.tenantId ?? '') : null,
      };
      const [rows, total] = await Promise.all([
        acrossTenants.list(scoped, page.perPage, pageOffset(page)),
        acrossTenants.count(scoped),
      ]);
      return { items: rows.map(toListItem), pagination: paginationMeta(page, total) };
    },

    async list(scope: TenantScope, filter: GroupListFilter, page: PageRequest) {
      const repository = createGroupsRepository(scope.db);
      const [rows, total] = await Promise.all([
        repository.list(filter, page.perPage, pageOffset(page)),
        repository.count(filter),
      ]);
      return { items: rows.map(toListItem), pagination: paginationMeta(page, total) };
    },

    async get(scope: TenantScope, id: string, includes?: GroupIncludes): Promise<GroupResponse> {
      return response(scope.db, id, includes);
    },

    async create(scope: TenantScope, input: GroupCreate): Promise<GroupResponse> {
      const id = newId('group');
      const members = unique(input.initial_members);
      await locked(scope, async (repository, audit) => {
        let parent: GroupRow | undefined;
        if (input.parent_group_id) {
          parent = isId('group', input.parent_group_id)
            ? await repository.find(input.parent_group_id)
            : undefined;
          if (!parent) throw notFound('Parent group');
        }
        await assertLiveUsers(repository, members);
        const row = {
          id,
          name: input.name,
          description: input.description ?? null,
          group_type: input.group_type ?? 'SECURITY',
          parent_group_id: parent?.id ?? null,
          custom_attributes: input.custom_attributes ?? null,
        } as const;
        await repository.insert(row);
        if (parent) await repository.addEdge(parent.id, id, 'HIERARCHY');
        const added = await repository.addMembers(id, members);
        audit('group.created', id, { after: { ...row, initial_members: added } });
        if (added.length > 0) audit('group.member_added', id, { after: { user_ids: added } });
      });
      return response(scope.db, id);
    },

    async update(scope: TenantScope, id: string, input: GroupUpdate): Promise<GroupResponse> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(scope, async (repository, audit) => {
        const before = await mustFind(repository, id);
        const changes: {
          name?: string;
          description?: string | null;
          custom_attributes?: Record<string, unknown> | null;
          parent_group_id?: string | null;
        } = {};
        if (input.name !== undefined && input.name !== before.name) changes.name = input.name;
        if (input.description !== undefined && input.description !== before.description) {
          changes.description = input.description;
        }
        if (input.custom_attributes !== undefined) changes.custom_attributes = input.custom_attributes;

        let newParent: GroupRow | null | undefined;
        if (input.parent_group_id !== undefined && input.parent_group_id !== before.parent_group_id) {
          if (input.parent_group_id === null) {
            newParent = null;
          } else {
            newParent = isId('group', input.parent_group_id)
              ? await repository.find(input.parent_group_id)
              : undefined;
            if (!newParent) throw notFound('Parent group');
            if (await repository.reaches(id, newParent.id)) throw cycle();
          }
          changes.parent_group_id = newParent?.id ?? null;
        }
        if (Object.keys(changes).length === 0) return;

        await repository.updateFields(id, changes);
        if (newParent !== undefined) {
          if (before.parent_group_id) await repository.removeEdge(before.parent_group_id, id);
          if (newParent) await link(repository, newParent.id, id, 'HIERARCHY');
        }
        audit('group.updated', id, {
          before: Object.fromEntries(Object.keys(changes).map((key) => [key, before[key as keyof GroupRow]])),
          after: changes,
        });
      });
      return response(scope.db, id);
    },

    async remove(scope: TenantScope, id: string, strategy: GroupDeleteStrategy): Promise<void> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(scope, async (repository, audit) => {
        const group = await mustFind(repository, id);
        if (strategy === 'BLOCK') {
          const [members, children] = await Promise.all([
            repository.memberCount(id),
            repository.relativeCount('child', id),
          ]);
          if (members > 0 || children > 0) {
            throw new AppError(
              'GROUP_NOT_EMPTY',
              'The group has members or child groups; remove them or delete with strategy ORPHAN or CASCADE',
            );
          }
        }
        const doomed = strategy === 'CASCADE' ? await repository.hierarchySubtree(id) : [id];
        const leaving = await repository.edgesOutOf(doomed);
        // ORPHAN re-hangs the hierarchy children; every other edge out of the doomed set is cut.
        const hierarchyChildren =
          strategy === 'ORPHAN'
            ? leaving.filter((edge) => edge.kind === 'HIERARCHY').map((edge) => edge.child_group_id)
            : [];
        const unlinkedChildren = leaving
          .filter((edge) => edge.kind === 'NESTED')
          .map((edge) => edge.child_group_id);
        // Cut every edge that enters the doomed set from outside: then no surviving group reaches
        // it, and everything the closures hold about it can be dropped wholesale.
        const entering = await repository.edgesInto(doomed);
        for (const edge of entering) await repository.removeEdge(edge.parent_group_id, edge.child_group_id);
        const membershipsRemoved = await repository.purge(doomed);
        if (hierarchyChildren.length > 0) {
          await repository.setParentColumn(hierarchyChildren, group.parent_group_id);
          if (group.parent_group_id) {
            for (const child of hierarchyChildren) {
              await link(repository, group.parent_group_id, child, 'HIERARCHY');
            }
          }
        }
        audit('group.deleted', id, {
          before: { name: group.name, group_type: group.group_type, parent_group_id: group.parent_group_id },
          after: {
            strategy,
            memberships_removed: membershipsRemoved,
            parents_unlinked: entering
              .filter((edge) => edge.child_group_id === id)
              .map((e) => e.parent_group_id),
            nested_groups_unlinked: unlinkedChildren,
            ...(strategy === 'ORPHAN' ? { children_moved: hierarchyChildren } : {}),
            ...(strategy === 'CASCADE' ? { groups_deleted: doomed.filter((other) => other !== id) } : {}),
          },
        });
        for (const child of hierarchyChildren) {
          audit('group.updated', child, {
            before: { parent_group_id: id },
            after: { parent_group_id: group.parent_group_id, reason: 'parent group deleted' },
          });
        }
        for (const other of doomed) {
          if (other === id) continue;
          audit('group.deleted', other, { after: { strategy: 'CASCADE', deleted_with: id } });
        }
      });
    },

    /** Adds and removes DIRECT members in one change (the tenant route's PUT, the admin POST). */
    async updateMembers(
      scope: TenantScope,
      id: string,
      input: { users_to_add?: readonly string[]; users_to_remove?: readonly string[] },
    ): Promise<GroupResponse> {
      const toAdd = unique(input.users_to_add);
      const toRemove = unique(input.users_to_remove);
      const removing = new Set(toRemove);
      if (toAdd.some((userId) => removing.has(userId))) {
        throw new AppError('BAD_REQUEST', 'A user cannot be both added to and removed from the group');
      }
      if (!isId('group', id)) throw groupNotFound();
      await locked(scope, async (repository, audit) => {
        await mustFind(repository, id);
        await assertLiveUsers(repository, [...toAdd, ...toRemove]);
        const removed = await repository.removeMembers(id, toRemove);
        const added = await repository.addMembers(id, toAdd);
        if (removed.length > 0) audit('group.member_removed', id, { before: { user_ids: removed } });
        if (added.length > 0) audit('group.member_added', id, { after: { user_ids: added } });
      });
      return response(scope.db, id);
    },

    async removeMember(scope: TenantScope, id: string, userId: string): Promise<void> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(scope, async (repository, audit) => {
        await mustFind(repository, id);
        if (!isId('user', userId) || (await repository.liveUserIds([userId])).size === 0) {
          throw notFound('User');
        }
        const removed = await repository.removeMembers(id, [userId]);
        if (removed.length === 0) throw notFound('Group member');
        audit('group.member_removed', id, { before: { user_ids: removed } });
      });
    },

    async addNested(scope: TenantScope, id: string, childIds: readonly string[]): Promise<GroupResponse> {
      const children = unique(childIds);
      if (!isId('group', id)) throw groupNotFound();
      await locked(scope, async (repository, audit) => {
        await mustFind(repository, id);
        const found = await repository.liveGroupIds(children);
        const missing = children.filter((child) => !found.has(child));
        if (missing.length > 0) {
          throw notFound(`Group ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
        }
        const added: string[] = [];
        // One at a time: each edge's cycle check must see the edges added before it.
        for (const child of children) {
          if (await link(repository, id, child, 'NESTED')) added.push(child);
        }
        if (added.length > 0) audit('group.nested_group_added', id, { after: { group_ids: added } });
      });
      return response(scope.db, id);
    },

    async removeNested(scope: TenantScope, id: string, childId: string): Promise<void> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(scope, async (repository, audit) => {
        await mustFind(repository, id);
        const edge = isId('group', childId) ? await repository.edge(id, childId) : undefined;
        if (!edge) throw notFound('Nested group');
        await repository.removeEdge(id, childId);
        audit('group.nested_group_removed', id, { before: { group_ids: [childId], kind: edge.kind } });
        // The hierarchy parent is one of the child's edges too: unlinking it makes the child top-level.
        if (edge.kind === 'HIERARCHY') {
          await repository.setParentColumn([childId], null);
          audit('group.updated', childId, {
            before: { parent_group_id: id },
            after: { parent_group_id: null },
          });
        }
      });
    },

    async members(scope: TenantScope, id: string, effective: boolean, page: PageRequest) {
      await readGroup(scope, id);
      const repository = createGroupsRepository(scope.db);
      if (effective) {
        // The page and its total in one statement: the hot read (bench groups.effective-members).
        const { rows, total } = await repository.effectiveMembersWithTotal(
          id,
          page.perPage,
          pageOffset(page),
        );
        return { items: rows.map(toMemberInfo), pagination: paginationMeta(page, total) };
      }
      const [rows, total] = await Promise.all([
        repository.directMembers(id, page.perPage, pageOffset(page)),
        repository.memberCount(id),
      ]);
      return { items: rows.map(toMemberInfo), pagination: paginationMeta(page, total) };
    },

    async relatives(scope: TenantScope, id: string, direction: 'child' | 'parent', page: PageRequest) {
      await readGroup(scope, id);
      const repository = createGroupsRepository(scope.db);
      const [rows, total] = await Promise.all([
        direction === 'child'
          ? repository.childGroups(id, page.perPage, pageOffset(page))
          : repository.parentGroups(id, page.perPage, pageOffset(page)),
        repository.relativeCount(direction, id),
      ]);
      const items: NestedGroupInfo[] = rows.map((row) => ({
        group_id: row.group_id,
        name: row.name,
        member_count: row.member_count,
      }));
      return { items, pagination: paginationMeta(page, total) };
    },
  };
}

export type GroupsService = ReturnType<typeof createGroupsService>;

import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import { adminRights, canSeeTenant } from '../../platform/auth/access.js';
import type { Db, Tx } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/errors.js';
import { recordAudit } from '../../platform/events/audit-log.js';
import { type CallContext, iso } from '../../platform/http.js';
import { accessibleTenant } from '../tenants/tenant-access.js';
import { createTenantsRepository } from '../tenants/tenants.repository.js';
import {
  type AdminGroupListFilter,
  createAdminGroupsQueries,
  createGroupsRepository,
  type GroupListFilter,
  type GroupListRow,
  type GroupRow,
  type GroupsRepository,
  type MemberRow,
} from './groups.repository.js';
import type {
  AdminGroupCreate,
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

/** The tenant a group operation runs in, after the caller's access to it was checked. */
interface TenantRef {
  id: string;
  partner_id: string;
}

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
 * Groups (groups.md; decisions.md "Groups"): the tenant routes and their admin twins.
 * Every write takes the tenant's group-graph lock first, so cycle checks and the maintained
 * closures see one change at a time (groups.repository.ts).
 */
export function createGroupsService(db: Db) {
  async function mustFind(repository: GroupsRepository, id: string): Promise<GroupRow> {
    const row = isId('group', id) ? await repository.find(id) : undefined;
    if (!row) throw groupNotFound();
    return row;
  }

  async function response(
    tenantId: string,
    id: string,
    includes: GroupIncludes = { members: false, nestedGroups: false },
  ): Promise<GroupResponse> {
    const repository = createGroupsRepository(db, tenantId);
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

  /** Runs `work` in a transaction holding the tenant's group-graph lock. */
  async function locked<T>(tenant: TenantRef, work: (repository: GroupsRepository, trx: Tx) => Promise<T>) {
    return db.transaction().execute(async (trx) => {
      const repository = createGroupsRepository(trx, tenant.id);
      await repository.lockGraph();
      return work(repository, trx);
    });
  }

  const audit = (
    trx: Tx,
    ctx: CallContext,
    tenant: TenantRef,
    action: string,
    groupId: string,
    data: object,
  ) =>
    recordAudit(trx, ctx.origin, {
      action,
      resourceType: 'group',
      resourceId: groupId,
      tenantId: tenant.id,
      partnerId: tenant.partner_id,
      ...data,
    });

  /** The operations, once the tenant is known and the caller's access to it checked. */
  const core = {
    async create(ctx: CallContext, tenant: TenantRef, input: GroupCreate): Promise<GroupResponse> {
      const id = newId('group');
      const members = unique(input.initial_members);
      await locked(tenant, async (repository, trx) => {
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
        await audit(trx, ctx, tenant, 'group.created', id, { after: { ...row, initial_members: added } });
        if (added.length > 0) {
          await audit(trx, ctx, tenant, 'group.member_added', id, { after: { user_ids: added } });
        }
      });
      return response(tenant.id, id);
    },

    async update(
      ctx: CallContext,
      tenant: TenantRef,
      id: string,
      input: GroupUpdate,
    ): Promise<GroupResponse> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(tenant, async (repository, trx) => {
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
        await audit(trx, ctx, tenant, 'group.updated', id, {
          before: Object.fromEntries(Object.keys(changes).map((key) => [key, before[key as keyof GroupRow]])),
          after: changes,
        });
      });
      return response(tenant.id, id);
    },

    async remove(
      ctx: CallContext,
      tenant: TenantRef,
      id: string,
      strategy: GroupDeleteStrategy,
    ): Promise<void> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(tenant, async (repository, trx) => {
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
        await audit(trx, ctx, tenant, 'group.deleted', id, {
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
          await audit(trx, ctx, tenant, 'group.updated', child, {
            before: { parent_group_id: id },
            after: { parent_group_id: group.parent_group_id, reason: 'parent group deleted' },
          });
        }
        for (const other of doomed) {
          if (other === id) continue;
          await audit(trx, ctx, tenant, 'group.deleted', other, {
            after: { strategy: 'CASCADE', deleted_with: id },
          });
        }
      });
    },

    async changeMembers(
      ctx: CallContext,
      tenant: TenantRef,
      id: string,
      add: readonly string[],
      remove: readonly string[],
    ): Promise<GroupResponse> {
      const toAdd = unique(add);
      const toRemove = unique(remove);
      const removing = new Set(toRemove);
      if (toAdd.some((userId) => removing.has(userId))) {
        throw new AppError('BAD_REQUEST', 'A user cannot be both added to and removed from the group');
      }
      if (!isId('group', id)) throw groupNotFound();
      await locked(tenant, async (repository, trx) => {
        await mustFind(repository, id);
        await assertLiveUsers(repository, [...toAdd, ...toRemove]);
        const removed = await repository.removeMembers(id, toRemove);
        const added = await repository.addMembers(id, toAdd);
        if (removed.length > 0) {
          await audit(trx, ctx, tenant, 'group.member_removed', id, { before: { user_ids: removed } });
        }
        if (added.length > 0) {
          await audit(trx, ctx, tenant, 'group.member_added', id, { after: { user_ids: added } });
        }
      });
      return response(tenant.id, id);
    },

    async removeMember(ctx: CallContext, tenant: TenantRef, id: string, userId: string): Promise<void> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(tenant, async (repository, trx) => {
        await mustFind(repository, id);
        if (!isId('user', userId) || (await repository.liveUserIds([userId])).size === 0) {
          throw notFound('User');
        }
        const removed = await repository.removeMembers(id, [userId]);
        if (removed.length === 0) throw notFound('Group member');
        await audit(trx, ctx, tenant, 'group.member_removed', id, { before: { user_ids: removed } });
      });
    },

    async addNested(ctx: CallContext, tenant: TenantRef, id: string, childIds: readonly string[]) {
      const children = unique(childIds);
      if (!isId('group', id)) throw groupNotFound();
      await locked(tenant, async (repository, trx) => {
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
        if (added.length > 0) {
          await audit(trx, ctx, tenant, 'group.nested_group_added', id, { after: { group_ids: added } });
        }
      });
      return response(tenant.id, id);
    },

    async removeNested(ctx: CallContext, tenant: TenantRef, id: string, childId: string): Promise<void> {
      if (!isId('group', id)) throw groupNotFound();
      await locked(tenant, async (repository, trx) => {
        await mustFind(repository, id);
        const edge = isId('group', childId) ? await repository.edge(id, childId) : undefined;
        if (!edge) throw notFound('Nested group');
        await repository.removeEdge(id, childId);
        await audit(trx, ctx, tenant, 'group.nested_group_removed', id, {
          before: { group_ids: [childId], kind: edge.kind },
        });
        // The hierarchy parent is one of the child's edges too: unlinking it makes the child top-level.
        if (edge.kind === 'HIERARCHY') {
          await repository.setParentColumn([childId], null);
          await audit(trx, ctx, tenant, 'group.updated', childId, {
            before: { parent_group_id: id },
            after: { parent_group_id: null },
          });
        }
      });
    },

    async members(tenant: TenantRef, id: string, effective: boolean, page: PageRequest) {
      const repository = createGroupsRepository(db, tenant.id);
      await mustFind(repository, id);
      const [rows, total] = await Promise.all([
        effective
          ? repository.effectiveMembers(id, page.perPage, pageOffset(page))
          : repository.directMembers(id, page.perPage, pageOffset(page)),
        effective ? repository.effectiveMemberCount(id) : repository.memberCount(id),
      ]);
      return { items: rows.map(toMemberInfo), pagination: paginationMeta(page, total) };
    },

    async relatives(tenant: TenantRef, id: string, direction: 'child' | 'parent', page: PageRequest) {
      const repository = createGroupsRepository(db, tenant.id);
      await mustFind(repository, id);
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

  /** The tenant of a group addressed by the admin API, if the caller may see it (else 404). */
  async function adminTenant(ctx: CallContext, groupId: string, write: boolean): Promise<TenantRef> {
    const rights = adminRights(ctx.principal, write);
    const located = isId('group', groupId) ? await createAdminGroupsQueries(db).locate(groupId) : undefined;
    if (!located || !canSeeTenant(rights, { id: located.tenant_id, partner_id: located.partner_id })) {
      throw groupNotFound();
    }
    return { id: located.tenant_id, partner_id: located.partner_id };
  }

  return {
    // --- /api/v1/tenants/{tenant_id}/groups ------------------------------------------------

    async list(ctx: CallContext, tenantId: string, filter: GroupListFilter, page: PageRequest) {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      const repository = createGroupsRepository(db, tenant.id);
      const [rows, total] = await Promise.all([
        repository.list(filter, page.perPage, pageOffset(page)),
        repository.count(filter),
      ]);
      return { items: rows.map(toListItem), pagination: paginationMeta(page, total) };
    },

    async get(
      ctx: CallContext,
      tenantId: string,
      id: string,
      includes: GroupIncludes,
    ): Promise<GroupResponse> {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, false);
      return response(tenant.id, id, includes);
    },

    async create(ctx: CallContext, tenantId: string, input: GroupCreate): Promise<GroupResponse> {
      return core.create(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), input);
    },

    async update(ctx: CallContext, tenantId: string, id: string, input: GroupUpdate): Promise<GroupResponse> {
      return core.update(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), id, input);
    },

    async remove(
      ctx: CallContext,
      tenantId: string,
      id: string,
      strategy: GroupDeleteStrategy,
    ): Promise<void> {
      await core.remove(ctx, await accessibleTenant(db, ctx.principal, tenantId, true), id, strategy);
    },

    async updateMembers(
      ctx: CallContext,
      tenantId: string,
      id: string,
      input: { users_to_add?: string[]; users_to_remove?: string[] },
    ): Promise<GroupResponse> {
      const tenant = await accessibleTenant(db, ctx.principal, tenantId, true);
      return core.changeMembers(ctx, tenant, id, input.users_to_add ?? [], input.users_to_remove ?? []);
    },

    // --- /api/v1/admin/groups/ --------------------------------------------------------------

    admin: {
      async list(ctx: CallContext, filter: AdminGroupListFilter, page: PageRequest) {
        const rights = adminRights(ctx.principal, false);
        const scoped: AdminGroupListFilter = {
          ...filter,
          onlyPartnerId: rights.level === 'partner_admin' ? (rights.partnerId ?? '') : null,
          onlyTenantId: rights.level === 'tenant_admin' ? (rights.tenantId ?? '') : null,
        };
        const queries = createAdminGroupsQueries(db);
        const [rows, total] = await Promise.all([
          queries.list(scoped, page.perPage, pageOffset(page)),
          queries.count(scoped),
        ]);
        return { items: rows.map(toListItem), pagination: paginationMeta(page, total) };
      },

      async create(ctx: CallContext, input: AdminGroupCreate): Promise<GroupResponse> {
        const rights = adminRights(ctx.principal, true);
        const { tenant_id: tenantId, ...fields } = input;
        const tenant = isId('tenant', tenantId)
          ? await createTenantsRepository(db).findLiveRow(tenantId)
          : undefined;
        if (!tenant || !canSeeTenant(rights, tenant)) throw notFound('Tenant');
        return core.create(ctx, tenant, fields);
      },

      async get(ctx: CallContext, id: string): Promise<GroupResponse> {
        return response((await adminTenant(ctx, id, false)).id, id);
      },

      async update(ctx: CallContext, id: string, input: GroupUpdate): Promise<GroupResponse> {
        return core.update(ctx, await adminTenant(ctx, id, true), id, input);
      },

      /** Soft delete with ORPHAN semantics: child groups move up, members and nested links go. */
      async remove(ctx: CallContext, id: string): Promise<void> {
        await core.remove(ctx, await adminTenant(ctx, id, true), id, 'ORPHAN');
      },

      async members(ctx: CallContext, id: string, effective: boolean, page: PageRequest) {
        return core.members(await adminTenant(ctx, id, false), id, effective, page);
      },

      async addMembers(ctx: CallContext, id: string, userIds: string[]): Promise<GroupResponse> {
        return core.changeMembers(ctx, await adminTenant(ctx, id, true), id, userIds, []);
      },

      async removeMember(ctx: CallContext, id: string, userId: string): Promise<void> {
        await core.removeMember(ctx, await adminTenant(ctx, id, true), id, userId);
      },

      async relatives(ctx: CallContext, id: string, direction: 'child' | 'parent', page: PageRequest) {
        return core.relatives(await adminTenant(ctx, id, false), id, direction, page);
      },

      async addNested(ctx: CallContext, id: string, childIds: string[]): Promise<GroupResponse> {
        return core.addNested(ctx, await adminTenant(ctx, id, true), id, childIds);
      },

      async removeNested(ctx: CallContext, id: string, childId: string): Promise<void> {
        await core.removeNested(ctx, await adminTenant(ctx, id, true), id, childId);
      },
    },
  };
}

export type GroupsService = ReturnType<typeof createGroupsService>;

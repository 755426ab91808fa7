import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { AppError, notFound } from '../../platform/errors.js';
import { iso } from '../../platform/http.js';
import type { TenantScope } from '../../platform/tenancy.js';
import { listUsersInOu } from '../users/index.js';
import { createOusRepository, type OURow } from './ous.repository.js';
import type { OUCreate, OUListItem, OUResponse, OUTreeNode, OUUpdate } from './ous.schemas.js';

export type OUDeleteStrategy = 'BLOCK' | 'MOVE_UP' | 'CASCADE';

const ouNotFound = () => notFound('Organizational unit');
const parentNotFound = () => notFound('Parent organizational unit');

function childPath(parentPath: string | null, name: string): string {
  return `${parentPath ?? ''}/${name}`;
}

/**
 * Organizational units (the organizational-units API (docs/openapi.json); docs/api-contract.md "Organizational units"): operations
 * on the OUs of the scope's tenant, through its tenant-bound handles.
 */
export function createOusService() {
  async function response(handle: TenantQueryable, row: OURow): Promise<OUResponse> {
    const repository = createOusRepository(handle);
    const [children, userCount] = await Promise.all([
      repository.children(row.id),
      repository.directUserCount(row.id),
    ]);
    return {
      name: row.name,
      description: row.description,
      id: row.id,
      path: row.path,
      parent_id: row.parent_id,
      child_ou_count: children.length,
      user_count: userCount,
      children: children.map((child) => ({
        ou_id: child.id,
        name: child.name,
        path: child.path,
        user_count: child.user_count,
        children: [],
      })),
      custom_attributes: row.custom_attributes,
      created_at: row.created_at.toISOString(),
      updated_at: iso(row.updated_at),
    };
  }

  async function mustFind(handle: TenantQueryable, id: string): Promise<OURow> {
    const row = isId('ou', id) ? await createOusRepository(handle).find(id) : undefined;
    if (!row) throw ouNotFound();
    return row;
  }

  return {
    async list(
      scope: TenantScope,
      filter: { search?: string | null; parentId?: string | null },
      page: PageRequest,
    ) {
      if (filter.parentId && !isId('ou', filter.parentId)) {
        return { items: [] as OUListItem[], pagination: paginationMeta(page, 0) };
      }
      const repository = createOusRepository(scope.db);
      const [rows, total] = await Promise.all([
        repository.list(filter, page.perPage, pageOffset(page)),
        repository.count(filter),
      ]);
      return { items: rows as OUListItem[], pagination: paginationMeta(page, total) };
    },

    async tree(scope: TenantScope): Promise<OUTreeNode[]> {
      const rows = await createOusRepository(scope.db).all();
      // Rows arrive sorted by name, so appending keeps every children list sorted.
      const nodes = new Map(
        rows.map((row) => [
          row.id,
          { id: row.id, name: row.name, path: row.path, children: [] } as OUTreeNode,
        ]),
      );
      const roots: OUTreeNode[] = [];
      for (const row of rows) {
        const node = nodes.get(row.id) as OUTreeNode;
        const parent = row.parent_id ? nodes.get(row.parent_id) : undefined;
        (parent ? parent.children : roots).push(node);
      }
      return roots;
    },

    async get(scope: TenantScope, id: string): Promise<OUResponse> {
      return response(scope.db, await mustFind(scope.db, id));
    },

    async create(scope: TenantScope, input: OUCreate): Promise<OUResponse> {
      const { tenant } = scope;
      const id = newId('ou');
      await scope.work(async (work) => {
        const repository = createOusRepository(work.db);
        await repository.lockTree();
        let parent: OURow | undefined;
        if (input.parent_id) {
          parent = isId('ou', input.parent_id) ? await repository.find(input.parent_id) : undefined;
          if (!parent) throw parentNotFound();
        }
        const row = {
          id,
          parent_id: parent?.id ?? null,
          name: input.name,
          description: input.description ?? null,
          path: childPath(parent?.path ?? null, input.name),
          depth: parent ? parent.depth + 1 : 0,
          custom_attributes: input.custom_attributes ?? null,
        };
        await repository.insert(row);
        work.audit({
          action: 'ou.created',
          resourceType: 'ou',
          resourceId: id,
          tenantId: tenant.id,
          partnerId: tenant.partner_id,
          after: row,
        });
      });
      return response(scope.db, await mustFind(scope.db, id));
    },

    async update(scope: TenantScope, id: string, input: OUUpdate): Promise<OUResponse> {
      const { tenant } = scope;
      if (!isId('ou', id)) throw ouNotFound();
      await scope.work(async (work) => {
        const repository = createOusRepository(work.db);
        await repository.lockTree();
        const before = await repository.find(id);
        if (!before) throw ouNotFound();

        const changes: {
          name?: string;
          description?: string | null;
          custom_attributes?: Record<string, unknown> | null;
          parent_id?: string | null;
        } = {};
        if (input.name !== undefined && input.name !== before.name) changes.name = input.name;
        if (input.description !== undefined && input.description !== before.description)
          changes.description = input.description;
        if (input.custom_attributes !== undefined) changes.custom_attributes = input.custom_attributes;

        let newParent: OURow | null | undefined;
        if (input.parent_id !== undefined && input.parent_id !== before.parent_id) {
          if (input.parent_id === null) {
            newParent = null;
          } else {
            newParent = isId('ou', input.parent_id) ? await repository.find(input.parent_id) : undefined;
            if (!newParent) throw parentNotFound();
            if (newParent.id === before.id || newParent.path.startsWith(`${before.path}/`)) {
              throw new AppError(
                'OU_CYCLE',
                'An organizational unit cannot be moved under itself or one of its descendants',
              );
            }
          }
          changes.parent_id = newParent?.id ?? null;
        }
        if (Object.keys(changes).length === 0) return;

        await repository.updateFields(id, changes);
        const parentPath =
          newParent !== undefined
            ? (newParent?.path ?? null)
            : before.path.slice(0, before.path.length - before.name.length - 1) || null;
        const newPath = childPath(parentPath, changes.name ?? before.name);
        let rewritten = 0;
        if (newPath !== before.path) {
          const newDepth = newParent !== undefined ? (newParent ? newParent.depth + 1 : 0) : before.depth;
          rewritten = await repository.rewriteSubtreePaths(before.path, newPath, newDepth - before.depth);
        }
        work.audit({
          action: changes.parent_id !== undefined ? 'ou.moved' : 'ou.updated',
          resourceType: 'ou',
          resourceId: id,
          tenantId: tenant.id,
          partnerId: tenant.partner_id,
          before: {
            ...Object.fromEntries(Object.keys(changes).map((key) => [key, before[key as keyof OURow]])),
            path: before.path,
          },
          after: {
            ...changes,
            path: newPath,
            ...(rewritten > 1 ? { descendants_repathed: rewritten - 1 } : {}),
          },
        });
      });
      return response(scope.db, await mustFind(scope.db, id));
    },

    async remove(scope: TenantScope, id: string, strategy: OUDeleteStrategy): Promise<void> {
      const { tenant } = scope;
      if (!isId('ou', id)) throw ouNotFound();
      await scope.work(async (work) => {
        const repository = createOusRepository(work.db);
        await repository.lockTree();
        const ou = await repository.find(id);
        if (!ou) throw ouNotFound();
        const parentPath = ou.parent_id ? ou.path.slice(0, ou.path.length - ou.name.length - 1) : null;
        const outcome: Record<string, unknown> = { strategy, path: ou.path };

        if (strategy === 'BLOCK') {
          const [users, hasChildren] = await Promise.all([
            repository.directUserCount(id),
            repository.hasChildren(id),
          ]);
          // Deleted users may still point at the OU; they move to the parent silently.
          if (users > 0 || hasChildren) {
            throw new AppError(
              'OU_NOT_EMPTY',
              'The organizational unit has users or child units; move them or delete with strategy MOVE_UP or CASCADE',
            );
          }
          await repository.moveUsers([id], ou.parent_id);
          await repository.deleteIds([id]);
        } else if (strategy === 'MOVE_UP') {
          outcome.users_moved = await repository.moveUsers([id], ou.parent_id);
          // The doomed OU steps out of its name first, so a child of the same name can take its place.
          await repository.updateFields(id, { name: id });
          const children = await repository.directChildIds(id);
          await repository.setParent(
            children.map((child) => child.id),
            ou.parent_id,
          );
          for (const child of children) {
            await repository.rewriteSubtreePaths(child.path, childPath(parentPath, child.name), -1);
          }
          outcome.children_moved = children.length;
          await repository.deleteIds([id]);
        } else {
          const subtree = repository.subtreeIds(ou.path);
          outcome.users_moved = await repository.moveUsers(subtree, ou.parent_id);
          outcome.ous_deleted = await repository.deleteIds(repository.subtreeIds(ou.path));
        }
        work.audit({
          action: 'ou.deleted',
          resourceType: 'ou',
          resourceId: id,
          tenantId: tenant.id,
          partnerId: tenant.partner_id,
          before: { name: ou.name, path: ou.path, parent_id: ou.parent_id },
          after: outcome,
        });
      });
    },

    async users(scope: TenantScope, id: string, includeNested: boolean, page: PageRequest) {
      const ou = await mustFind(scope.db, id);
      const ouIds = includeNested ? createOusRepository(scope.db).subtreeIds(ou.path) : [ou.id];
      const { items, total } = await listUsersInOu(scope.db, ouIds, {
        limit: page.perPage,
        offset: pageOffset(page),
      });
      return { items, pagination: paginationMeta(page, total) };
    },
  };
}

export type OusService = ReturnType<typeof createOusService>;

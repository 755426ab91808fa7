import { newId } from '../../lib/ids.js';
import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { createOusRepository } from './ous.repository.js';

/**
 * The OU tree mirrored from a directory (LDAP sync with OU placement from the DN, issue 15): makes
 * sure each path of OU names exists under `rootId` (the provider's default OU, or the top when
 * null), creating the missing ones, and returns the id of each path's last OU. Names match
 * existing siblings case-insensitively (as the sibling-name index does). Runs in the caller's
 * transaction and takes the tenant's OU tree lock; an OU tree is small, so it is read whole.
 * Paths are keyed by their names joined with "/".
 */
export async function ensureOuPaths(
  db: TenantQueryable,
  rootId: string | null,
  paths: readonly (readonly string[])[],
): Promise<Map<string, string>> {
  const repository = createOusRepository(db);
  const result = new Map<string, string>();
  const wanted = paths.filter((path) => path.length > 0);
  if (wanted.length === 0) return result;
  await repository.lockTree();
  const all = await repository.all();
  const byId = new Map(all.map((ou) => [ou.id, ou]));
  const depthOf = (path: string) => path.split('/').length - 2;
  const childKey = (parentId: string | null, name: string) => `${parentId ?? ''}\u0000${name.toLowerCase()}`;
  const children = new Map(all.map((ou) => [childKey(ou.parent_id, ou.name), ou]));
  const root = rootId ? byId.get(rootId) : undefined;
  if (rootId && !root) throw new Error(`The default OU ${rootId} does not exist in this tenant`);
  for (const path of wanted) {
    let parent: { id: string; path: string } | null = root ? { id: root.id, path: root.path } : null;
    for (const name of path) {
      const key = childKey(parent?.id ?? null, name);
      let ou = children.get(key);
      if (!ou) {
        const created = {
          id: newId('ou'),
          parent_id: parent?.id ?? null,
          name,
          path: `${parent?.path ?? ''}/${name}`,
        };
        await repository.insert({
          ...created,
          description: 'Mirrored from the directory',
          depth: depthOf(created.path),
          custom_attributes: null,
        });
        children.set(key, created);
        ou = created;
      }
      parent = { id: ou.id, path: ou.path };
    }
    result.set(path.join('/'), parent?.id as string);
  }
  return result;
}

import type { useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

export function loadTree(tenantId: string) {
  return unwrap(
    api.GET('/api/v1/tenants/{tenant_id}/ous/tree', { params: { path: { tenant_id: tenantId } } }),
  );
}

export type OuNode = Awaited<ReturnType<typeof loadTree>>['data'][number];

export interface FlatOu {
  node: OuNode;
  parentId: string | null;
  depth: number;
}

/** Every unit of the forest, depth first (the tree's order), with its parent. */
export function flatten(roots: readonly OuNode[]): Map<string, FlatOu> {
  const out = new Map<string, FlatOu>();
  const walk = (nodes: readonly OuNode[], parentId: string | null, depth: number) => {
    for (const node of nodes) {
      out.set(node.id, { node, parentId, depth });
      walk(node.children ?? [], node.id, depth + 1);
    }
  };
  walk(roots, null, 0);
  return out;
}

/** The units below `node`, depth first (itself not included). */
export function descendants(node: OuNode): OuNode[] {
  const out: OuNode[] = [];
  const walk = (nodes: readonly OuNode[]) => {
    for (const child of nodes) {
      out.push(child);
      walk(child.children ?? []);
    }
  };
  walk(node.children ?? []);
  return out;
}

/** Every OU query of the tenant (tree, units, users) after a structural change. */
export function refreshOus(queryClient: ReturnType<typeof useQueryClient>, tenantId: string) {
  return queryClient.invalidateQueries({ queryKey: ['ous', tenantId] });
}

export function moveOu(tenantId: string, ouId: string, parentId: string | null) {
  return unwrap(
    api.PATCH('/api/v1/tenants/{tenant_id}/ous/{ou_id}', {
      params: { path: { tenant_id: tenantId, ou_id: ouId } },
      body: { parent_id: parentId },
    }),
  );
}

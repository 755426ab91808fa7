import type { useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

export function loadGroup(tenantId: string, groupId: string) {
  return unwrap(
    api.GET('/api/v1/tenants/{tenant_id}/groups/{group_id}', {
      params: { path: { tenant_id: tenantId, group_id: groupId } },
    }),
  );
}

export type GroupData = Awaited<ReturnType<typeof loadGroup>>['data'];

/** After any change to a group: every group of the tenant may show other counts or members. */
export function refreshGroups(queryClient: ReturnType<typeof useQueryClient>, tenantId: string) {
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: ['group', tenantId] }),
    queryClient.invalidateQueries({ queryKey: ['groups', tenantId] }),
    queryClient.invalidateQueries({ queryKey: ['picker', 'groups', tenantId] }),
  ]);
}

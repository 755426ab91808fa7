import { type DatasetPlan, generateMemberships, type TenantPlan, userId } from '../dataset.js';
import { call, measureOneByOne } from '../drive.js';
import type { Scenario } from '../scenario.js';

const ADD = 1_000;
/** Timed PUTs; each is followed by an untimed one removing the same members again. */
const REPEATS = 6;

/** A group on the deepest level of tenant 0 (all its ancestors' effective members change) and 1,000 non-members. */
function target(dataset: DatasetPlan): { tenantId: string; groupId: string; userIds: string[] } {
  const tenant = dataset.tenants[0] as TenantPlan;
  const group = tenant.groups[tenant.groups.length - 1];
  const members = new Set<string>();
  for (const membership of generateMemberships(dataset, tenant)) {
    if (membership.groupId === group?.id) members.add(membership.userId);
  }
  const userIds: string[] = [];
  for (let index = 0; index < tenant.userCount && userIds.length < ADD; index++) {
    const id = userId(dataset, tenant, index);
    if (!members.has(id)) userIds.push(id);
  }
  return { tenantId: tenant.id, groupId: group?.id ?? '', userIds };
}

/**
 * Issue 6: adding 1,000 direct members in one `PUT /api/v1/tenants/{id}/groups/{id}/members`
 * {users_to_add} to a group on the deepest level (its ancestors' effective members follow), one at
 * a time; an untimed PUT {users_to_remove} restores the group after each. Against the same insert
 * with the effective-member upkeep of groups.repository.ts `addMembers` as one plain SQL
 * statement, rolled back, one at a time. Target: <= 300 ms each.
 */
export const scenario: Scenario = {
  name: 'groups.add-members',
  description: 'PUT /api/v1/tenants/{id}/groups/{deep group}/members {users_to_add: 1,000}, one at a time',
  reference: (dataset) => {
    const { tenantId, groupId, userIds } = target(dataset);
    return {
      kind: 'sql',
      query: {
        name: 'sql:groups.add-members',
        description: '1,000 memberships and their effective memberships in one statement, one at a time',
        sql: `with added as (
  insert into group_memberships (tenant_id, group_id, user_id)
  select $1, $2, unnest($3::text[]) on conflict do nothing returning user_id)
insert into group_effective_members (tenant_id, group_id, user_id, path_count)
select a.tenant_id, a.ancestor_group_id, added.user_id, a.path_count
from group_closure a cross join added
where a.tenant_id = $1 and a.descendant_group_id = $2
on conflict (tenant_id, group_id, user_id)
do update set path_count = group_effective_members.path_count + excluded.path_count`,
        params: [[tenantId, groupId, userIds]],
        concurrency: 1,
        rollback: true,
      },
    };
  },
  limits: { p99Ms: 300 },
  async prepare({ dataset, token }) {
    const { tenantId, groupId, userIds } = target(dataset);
    return {
      method: 'PUT',
      paths: [`/api/v1/tenants/${tenantId}/groups/${groupId}/members`],
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 200,
      custom: { userIds },
    };
  },
  async drive({ baseUrl, plan, amount }) {
    const { userIds } = plan.custom as { userIds: string[] };
    const url = `${baseUrl}${plan.paths[0]}`;
    const headers = plan.headers ?? {};
    return measureOneByOne(
      Math.min(amount ?? REPEATS, REPEATS),
      async () => {
        await call(url, { method: 'PUT', headers, body: { users_to_add: userIds }, expect: 200 });
      },
      async () => {
        await call(url, { method: 'PUT', headers, body: { users_to_remove: userIds }, expect: 200 });
      },
    );
  },
};

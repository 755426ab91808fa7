import { userId } from '../dataset.js';
import type { Scenario } from '../scenario.js';

/**
 * Issue 6: the effective groups of one user who is a direct member of 50 groups spread over all
 * levels (user 0 of each tenant; fewer at the tiny size), `GET /api/v1/admin/users/{id}/groups`,
 * against group-memberships.ts `userGroupMemberships` as plain SQL. Target: p99 <= 2 ms.
 */
export const scenario: Scenario = {
  name: 'groups.user-groups',
  description: 'GET /api/v1/admin/users/{user in 50 groups}/groups',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:groups.user-groups',
      description: "the user's effective groups, DIRECT or INHERITED, by name, as plain SQL",
      sql: `select e.group_id, g.name,
  case when e.direct then 'DIRECT' else 'INHERITED' end as membership_type
from group_effective_members e
cross join lateral (select g.name from groups g
                    where g.tenant_id = $1 and g.id = e.group_id and g.deleted_at is null limit 1) g
where e.tenant_id = $1 and e.user_id = $2
  and exists (select 1 from users u where u.tenant_id = $1 and u.id = $2 and u.deleted_at is null)
order by lower(g.name), e.group_id`,
      params: dataset.tenants.map((tenant) => [tenant.id, userId(dataset, tenant, 0)]),
    },
  }),
  limits: { p99Ms: 2 },
  async prepare({ dataset, token }) {
    return {
      method: 'GET',
      paths: dataset.tenants.map((tenant) => `/api/v1/admin/users/${userId(dataset, tenant, 0)}/groups`),
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 200,
    };
  },
};

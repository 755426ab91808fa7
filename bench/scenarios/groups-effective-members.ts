import type { Scenario } from '../scenario.js';

/**
 * Issue 6: the first page (20) and exact total of the effective members of the hub group (the
 * first top-level group: its hierarchy children plus a NESTED edge to every 4th second-level
 * group; ~half the tenant at the large size), `GET /api/v1/admin/groups/{id}/effective-members`,
 * against the page and the count of groups.repository.ts (`effectiveMembersWithTotal`: the counter
 * of migration 0019) in one plain SQL statement. Target: p99
 * <= 2 ms (issue 17; issue 6 set 10 ms).
 */
export const scenario: Scenario = {
  name: 'groups.effective-members',
  description: 'GET /api/v1/admin/groups/{hub}/effective-members?per_page=20',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:groups.effective-members',
      description: 'first 20 effective members by user id with the exact live total, as plain SQL',
      sql: `select e.user_id, u.email, u.display_name, e.direct,
  coalesce((select c.effective_count from group_member_counts c
            where c.tenant_id = $1 and c.group_id = $2), 0)::int as total
from group_effective_members e
cross join lateral (select u.email, u.display_name from users u
                    where u.tenant_id = $1 and u.id = e.user_id and u.deleted_at is null limit 1) u
where e.tenant_id = $1 and e.group_id = $2
order by e.user_id limit 20`,
      params: dataset.tenants.filter((t) => t.groups[0]).map((t) => [t.id, t.groups[0]?.id]),
    },
  }),
  limits: { p99Ms: 2 }, // issue 17 (issue 6: 10 ms)
  async prepare({ dataset, token }) {
    return {
      method: 'GET',
      paths: dataset.tenants
        .filter((t) => t.groups[0])
        .map((t) => `/api/v1/admin/groups/${t.groups[0]?.id}/effective-members?per_page=20`),
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 200,
    };
  },
};

import type { Scenario } from '../scenario.js';

/**
 * Issue 6: the first page (20) and exact total of the effective members of the hub group (the
 * first top-level group: its hierarchy children plus a NESTED edge to every 4th second-level
 * group; ~half the tenant at the large size), `GET /api/v1/admin/groups/{id}/effective-members`,
 * against the page and the count of groups.repository.ts (`effectiveMembers`,
 * `effectiveMemberCount`) in one plain SQL statement. Target: p99 <= 10 ms.
 */
export const scenario: Scenario = {
  name: 'groups.effective-members',
  description: 'GET /api/v1/admin/groups/{hub}/effective-members?per_page=20',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:groups.effective-members',
      description: 'first 20 effective members by user id with the exact live total, as plain SQL',
      sql: `select e.user_id, u.email, u.display_name,
  exists (select 1 from group_memberships m where m.tenant_id = $1 and m.group_id = $2
          and m.user_id = e.user_id) as direct,
  ((select count(*) from group_effective_members x where x.tenant_id = $1 and x.group_id = $2)
   - (select count(*) from users du where du.tenant_id = $1 and du.deleted_at is not null
      and exists (select 1 from group_effective_members y
                  where y.tenant_id = $1 and y.group_id = $2 and y.user_id = du.id)))::int as total
from group_effective_members e join users u on u.tenant_id = e.tenant_id and u.id = e.user_id
where e.tenant_id = $1 and e.group_id = $2 and u.deleted_at is null
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

import { userId } from '../dataset.js';
import type { Scenario } from '../scenario.js';

const USERS = 1_000;

function targets(dataset: Parameters<Scenario['reference']>[0]) {
  const out: { tenantId: string; userId: string }[] = [];
  for (let i = 0; i < USERS; i++) {
    const tenant = dataset.tenants[i % dataset.tenants.length];
    if (!tenant || tenant.userCount === 0) continue;
    out.push({ tenantId: tenant.id, userId: userId(dataset, tenant, (i * 97) % tenant.userCount) });
  }
  return out;
}

/**
 * Issue 5: `GET /api/v1/tenants/{id}/users/{user_id}` over 1,000 users in turn, against the
 * user row with its OU path (users.repository.ts `findLive`) as plain SQL. Target: p99 <= 2 ms.
 */
export const scenario: Scenario = {
  name: 'users.get',
  description: 'GET /api/v1/tenants/{id}/users/{user_id}',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:users.get',
      description: 'the user row with its OU path, as plain SQL',
      sql: `select u.*, o.path as ou_path from users u
left join ous o on o.tenant_id = u.tenant_id and o.id = u.ou_id
where u.tenant_id = $1 and u.deleted_at is null and u.id = $2`,
      params: targets(dataset).map((target) => [target.tenantId, target.userId]),
    },
  }),
  limits: { p99Ms: 2 },
  async prepare({ dataset, token }) {
    return {
      method: 'GET',
      paths: targets(dataset).map((target) => `/api/v1/tenants/${target.tenantId}/users/${target.userId}`),
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 200,
    };
  },
};

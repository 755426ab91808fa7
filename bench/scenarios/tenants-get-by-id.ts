import type { Scenario } from '../scenario.js';

/**
 * Issue 3: authenticated `GET /api/v1/admin/tenants/{id}` with a platform token, in turn over every
 * seeded tenant, against the same query as plain SQL through the driver at the same concurrency
 * (the tenant row and its user, group and OU counts, as tenants.repository.ts `findLive` asks it;
 * the counts are kept by triggers in tenant_counts since migration 0006).
 * Target: at least 40% of it.
 */
export const scenario: Scenario = {
  name: 'tenants.get-by-id',
  description: 'GET /api/v1/admin/tenants/{id} with a bearer token (admin:read)',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:tenants.get-by-id',
      description: 'the tenant row with its three counts, as plain SQL',
      sql: `select t.*,
  (select coalesce(sum(c.users), 0)::int from tenant_counts c where c.tenant_id = t.id) as user_count,
  (select coalesce(sum(c.groups), 0)::int from tenant_counts c where c.tenant_id = t.id) as group_count,
  (select coalesce(sum(c.ous), 0)::int from tenant_counts c where c.tenant_id = t.id) as ou_count
from tenants t
where t.deleted_at is null and t.id = $1`,
      params: dataset.tenants.map((tenant) => [tenant.id]),
    },
  }),
  target: 0.4,
  async prepare({ dataset, token }) {
    const bearer = await token('admin:read');
    return {
      method: 'GET',
      paths: dataset.tenants.map((tenant) => `/api/v1/admin/tenants/${tenant.id}`),
      headers: { authorization: `Bearer ${bearer}` },
      expectedStatus: 200,
    };
  },
};

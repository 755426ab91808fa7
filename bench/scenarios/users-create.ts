import { call, measureOperations } from '../drive.js';
import type { Scenario } from '../scenario.js';

const email = (index: number) => `bench-create-${index + 1}@bench-writes.bench.example`;

/**
 * Issue 5: creating users through the API, `POST /api/v1/tenants/{id}/users` {email,
 * send_welcome_email: false} (no password, so no argon2id), 50 in flight, into the bench's empty
 * write tenant (the measured tenants stay as seeded): 10,000 users at the large size, 2,000 at
 * the default. Against the same row as a plain SQL INSERT (rolled back, 50 in flight). Target:
 * >= 2,000 users/s.
 */
export const scenario: Scenario = {
  name: 'users.create',
  description: 'POST /api/v1/tenants/{id}/users {email, send_welcome_email:false}, 50 in flight',
  reference: (dataset) => ({
    kind: 'sql',
    query: {
      name: 'sql:users.create',
      description: 'INSERT of one user row',
      sql: `insert into users (tenant_id, id, email, username, status, email_verified)
values ($1, $2, $3, $3, 'PENDING_EMAIL_VERIFICATION', false)`,
      params: Array.from({ length: 1_000 }, (_, i) => [
        dataset.writeTenant.id,
        `usr_bench${String(i).padStart(15, '0')}`,
        `ref-${i}@bench-writes.bench.example`,
      ]),
      rollback: true,
    },
  }),
  limits: { minRate: 2_000 },
  async prepare({ dataset, token }) {
    return {
      method: 'POST',
      paths: [`/api/v1/tenants/${dataset.writeTenant.id}/users`],
      headers: { authorization: `Bearer ${await token()}` },
      expectedStatus: 201,
      custom: { count: dataset.shape.usersPerTenant >= 100_000 ? 10_000 : 2_000 },
    };
  },
  async drive({ baseUrl, plan, amount, connections }) {
    const { count } = plan.custom as { count: number };
    return measureOperations({ concurrency: connections, seconds: 3_600, amount: amount ?? count }, (index) =>
      call(`${baseUrl}${plan.paths[0]}`, {
        method: 'POST',
        headers: plan.headers ?? {},
        body: { email: email(index), send_welcome_email: false },
        expect: 201,
      }).then(() => {}),
    );
  },
};

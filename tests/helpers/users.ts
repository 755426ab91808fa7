import type { Tenant } from './factories.js';
import type { TestAppHandle } from './test-app.js';

/** A password the policy accepts. */
export const STRONG = 'Correct-Horse-Battery-9';

/** The Users API as the tests/users*.test.ts files call it, on the app of `t` with its platform token. */
export function usersApi(t: TestAppHandle) {
  let counter = 0;
  const email = (prefix = 'user') => `${prefix}.${++counter}.${Date.now().toString(36)}@example.com`;

  async function createUser(tenant: Tenant, fields: Record<string, unknown> = {}) {
    const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: email(),
      send_welcome_email: false,
      ...fields,
    });
    if (response.status !== 201)
      throw new Error(`createUser: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.data as { id: string; email: string; status: string };
  }

  async function createGroup(tenant: Tenant, name: string): Promise<string> {
    const response = await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name });
    if (response.status !== 201)
      throw new Error(`createGroup: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.data.id;
  }

  const userRow = (id: string) =>
    t.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const getUser = (tenant: Tenant, id: string, query = '') =>
    t.get(`/api/v1/tenants/${tenant.id}/users/${id}${query}`);

  return { email, createUser, createGroup, userRow, getUser };
}

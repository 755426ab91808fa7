import { describe, expect, it } from 'vitest';
import { adminUserToken, applicationToken, createTenant, insertApplication } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 12: the self-service context (src/contexts/self-service.ts) serves a user's own account.
describe('GET /api/v1/me', () => {
  const t = useTestApp();

  it('answers the signed-in user’s own profile, whatever tenant the user is in', async () => {
    const [a, b] = [await createTenant(t), await createTenant(t)];
    const alice = await adminUserToken(t, { role: null, tenant: a, scope: 'openid' });
    const bob = await adminUserToken(t, { role: null, tenant: b, scope: 'openid' });
    for (const [who, tenant] of [
      [alice, a],
      [bob, b],
    ] as const) {
      const response = await t.get('/api/v1/me', { token: who.token });
      expect(response.status).toBe(200);
      expect(response.body.data).toMatchObject({ id: who.user.id, tenant_id: tenant.id, status: 'ACTIVE' });
      expect(response.body.data).not.toHaveProperty('password_hash');
      expect(response.body.meta.request_id).toBeTruthy();
    }
  });

  it('refuses an application’s token (403) and a request without a token (401)', async () => {
    const tenant = await createTenant(t);
    const application = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'SERVICE',
      allowedScopes: ['users:read'],
    });
    const token = await applicationToken(
      t,
      { id: application.id, scope: 'TENANT', partnerId: tenant.partner_id, tenantId: tenant.id },
      ['users:read'],
    );
    const refused = await t.get('/api/v1/me', { token });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    const anonymous = await t.get('/api/v1/me', { token: null });
    expect(anonymous.status).toBe(401);
  });
});

import { describe, expect, it } from 'vitest';
import { adminUserToken, createPartner, createTenant, type Tenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

/** Issue 15: the Identity Providers API — configuration, secrets, role reach, audit. */
const t = useTestApp();

const BIND_PASSWORD = 'bind-secret-Zq81-never-returned';
const CLIENT_SECRET = 'client-secret-Xw33-never-returned';

const ldapConfig = (overrides: Record<string, unknown> = {}) => ({
  url: 'ldaps://127.0.0.1:1',
  bind_dn: 'cn=svc,dc=example,dc=com',
  bind_password: BIND_PASSWORD,
  user_base_dn: 'ou=people,dc=example,dc=com',
  ...overrides,
});

async function createProvider(fields: Record<string, unknown>, token?: string) {
  const response = await t.post('/api/v1/admin/identity-providers/', fields, token ? { token } : {});
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.data as Record<string, unknown> & { id: string; config: Record<string, unknown> };
}

const ldapProvider = (tenant: Tenant, extra: Record<string, unknown> = {}) =>
  createProvider({
    tenant_id: tenant.id,
    provider_type: 'LDAP',
    name: `Directory ${Math.random().toString(36).slice(2, 8)}`,
    config: ldapConfig(),
    ...extra,
  });

describe('identity providers: configuration', () => {
  it('creates an LDAP provider with the defaults filled in and its secret sealed, never returned', async () => {
    const tenant = await createTenant(t);
    const created = await ldapProvider(tenant, {
      email_domains: ['Example.COM'],
      attribute_mapping: { display_name: 'cn', custom_attributes: { employee_id: 'employeeNumber' } },
    });
    expect(created.id).toMatch(/^idp_[0-9a-z]{20}$/);
    expect(created).toMatchObject({
      tenant_id: tenant.id,
      provider_type: 'LDAP',
      enabled: true,
      status: 'ACTIVE',
      jit_provisioning: true,
      link_by_email: false,
      trust_upstream_mfa: false,
      email_domains: ['example.com'],
      secrets_set: ['bind_password'],
      users_count: 0,
    });
    expect(created.config).toMatchObject({
      directory_type: 'OPENLDAP',
      login_attribute: 'mail',
      id_attribute: 'entryUUID',
      nested_groups: 'EXPAND',
      allow_plain_bind: false,
      tls_verify: true,
    });
    expect(JSON.stringify(created)).not.toContain(BIND_PASSWORD);
    const row = await t.database.db
      .selectFrom('identity_providers')
      .select(['secrets', 'config'])
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.secrets).toBeTruthy();
    expect(`${row.secrets}${JSON.stringify(row.config)}`).not.toContain(BIND_PASSWORD);

    const read = await t.get(`/api/v1/admin/identity-providers/${created.id}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(BIND_PASSWORD);

    const ad = await ldapProvider(tenant, { config: ldapConfig({ directory_type: 'ACTIVE_DIRECTORY' }) });
    expect(ad.config).toMatchObject({
      login_attribute: 'sAMAccountName',
      id_attribute: 'objectGUID',
      nested_groups: 'IN_CHAIN',
      user_filter: '(&(objectCategory=person)(objectClass=user))',
    });
  });

  it('says which config field is wrong (422 under body.config), and what a type needs', async () => {
    const tenant = await createTenant(t);
    const post = (fields: Record<string, unknown>) =>
      t.post('/api/v1/admin/identity-providers/', { tenant_id: tenant.id, name: 'X', ...fields });

    const unknownKey = await post({ provider_type: 'LDAP', config: ldapConfig({ colour: 'blue' }) });
    expect(unknownKey.status).toBe(422);
    expect(unknownKey.body.detail[0].loc).toEqual(['body', 'config', 'colour']);

    const badUrl = await post({ provider_type: 'LDAP', config: ldapConfig({ url: 'http://dc' }) });
    expect(badUrl.status).toBe(422);
    expect(badUrl.body.detail[0].loc).toEqual(['body', 'config', 'url']);

    const noPassword = await post({
      provider_type: 'LDAP',
      config: ldapConfig({ bind_password: undefined }),
    });
    expect(noPassword.status).toBe(422);
    expect(noPassword.body.detail[0].loc).toEqual(['body', 'config', 'bind_password']);

    const tlsTwice = await post({
      provider_type: 'LDAP',
      config: ldapConfig({ url: 'ldaps://dc:636', start_tls: true }),
    });
    expect(tlsTwice.status).toBe(422);
    expect(tlsTwice.body.detail[0].loc).toEqual(['body', 'config', 'start_tls']);

    const noSecret = await post({
      provider_type: 'OIDC',
      config: { issuer: 'https://idp.example.com', client_id: 'scaikey' },
    });
    expect(noSecret.status).toBe(422);
    expect(noSecret.body.detail[0].loc).toEqual(['body', 'config', 'client_secret']);

    const entraWithoutTenant = await post({
      provider_type: 'OIDC',
      config: { preset: 'entra', client_id: 'scaikey', client_secret: CLIENT_SECRET },
    });
    expect(entraWithoutTenant.status).toBe(422);
    expect(entraWithoutTenant.body.detail[0].loc).toEqual(['body', 'config', 'entra_tenant_id']);

    const wrongType = await post({ provider_type: 'KERBEROS', config: {} });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.detail[0].loc).toEqual(['body', 'provider_type']);

    const bothGroupTargets = await post({
      provider_type: 'LDAP',
      config: ldapConfig(),
      group_mapping: [{ upstream_group: 'cn=x', group_id: null, group_name: null }],
    });
    expect(bothGroupTargets.status).toBe(422);
    expect(bothGroupTargets.body.detail[0].loc).toEqual(['body', 'group_mapping', 0]);

    const unknownGroup = await post({
      provider_type: 'LDAP',
      config: ldapConfig(),
      group_mapping: [{ upstream_group: 'cn=x', group_id: 'grp_00000000000000000000' }],
    });
    expect(unknownGroup.status).toBe(404);
    const unknownOu = await post({ provider_type: 'LDAP', config: ldapConfig(), default_ou_id: 'ou_x' });
    expect(unknownOu.status).toBe(404);

    // Nothing of the refused requests was saved.
    const list = await t.get(`/api/v1/admin/identity-providers/?tenant_id=${tenant.id}`);
    expect(list.body.pagination.total_items ?? list.body.pagination.total).toBe(0);
  });

  it('Entra ID and Google presets fill the issuer of the same OIDC code', async () => {
    const tenant = await createTenant(t);
    const entra = await createProvider({
      tenant_id: tenant.id,
      provider_type: 'OIDC',
      name: 'Contoso',
      config: {
        preset: 'entra',
        entra_tenant_id: 'contoso.onmicrosoft.com',
        client_id: 'a',
        client_secret: CLIENT_SECRET,
      },
    });
    expect(entra.config.issuer).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    expect(entra.secrets_set).toEqual(['client_secret']);
    expect(entra.urls).toEqual({
      redirect_uri: `http://scaikey.test/api/v1/auth/tenants/${tenant.slug}/federation/oidc/callback`,
    });
    const google = await createProvider({
      tenant_id: tenant.id,
      provider_type: 'OIDC',
      name: 'Google',
      config: { preset: 'google', client_id: 'b', client_secret: CLIENT_SECRET },
    });
    expect(google.config).toMatchObject({
      issuer: 'https://accounts.google.com',
      scopes: 'openid email profile',
    });
    expect(JSON.stringify([entra, google])).not.toContain(CLIENT_SECRET);
  });

  it('updates: config merged key by key, a secret replaced only when given, lists replaced', async () => {
    const tenant = await createTenant(t);
    const created = await ldapProvider(tenant, { email_domains: ['a.example'] });
    const before = await t.database.db
      .selectFrom('identity_providers')
      .select('secrets')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    const patched = await t.patch(`/api/v1/admin/identity-providers/${created.id}`, {
      config: { page_size: 50, start_tls: null },
      email_domains: ['b.example'],
      button_label: 'Company directory',
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.data).toMatchObject({
      email_domains: ['b.example'],
      button_label: 'Company directory',
    });
    expect(patched.body.data.config).toMatchObject({
      page_size: 50,
      url: 'ldaps://127.0.0.1:1',
      start_tls: false,
    });
    const same = await t.database.db
      .selectFrom('identity_providers')
      .select('secrets')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(same.secrets).toBeTruthy();

    const replaced = await t.patch(`/api/v1/admin/identity-providers/${created.id}`, {
      config: { bind_password: 'another-bind-secret' },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.data.secrets_set).toEqual(['bind_password']);
    const after = await t.database.db
      .selectFrom('identity_providers')
      .select('secrets')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(after.secrets).not.toBe(before.secrets);

    const invalid = await t.patch(`/api/v1/admin/identity-providers/${created.id}`, {
      config: { url: 'ftp://x' },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.detail[0].loc).toEqual(['body', 'config', 'url']);
  });

  it('gives an email domain to one enabled provider of a tenant (409 DOMAIN_TAKEN), per tenant', async () => {
    const tenant = await createTenant(t);
    const first = await ldapProvider(tenant, { email_domains: ['corp.example'] });
    const clash = await t.post('/api/v1/admin/identity-providers/', {
      tenant_id: tenant.id,
      provider_type: 'LDAP',
      name: 'Second',
      email_domains: ['corp.example'],
      config: ldapConfig(),
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('DOMAIN_TAKEN');
    // A disabled provider claims no domain; another tenant may use the same one.
    const disabled = await ldapProvider(tenant, { email_domains: ['corp.example'], enabled: false });
    expect(disabled.enabled).toBe(false);
    const enable = await t.patch(`/api/v1/admin/identity-providers/${disabled.id}`, { enabled: true });
    expect(enable.status).toBe(409);
    await ldapProvider(await createTenant(t), { email_domains: ['corp.example'] });
    expect((await t.delete(`/api/v1/admin/identity-providers/${first.id}`)).status).toBe(204);
    expect((await t.patch(`/api/v1/admin/identity-providers/${disabled.id}`, { enabled: true })).status).toBe(
      200,
    );
  });

  it('lists with filters and pages; deletes softly (404 after); sync is for directories only', async () => {
    const tenant = await createTenant(t);
    const ldap = await ldapProvider(tenant, { name: 'Alpha directory' });
    const oidc = await createProvider({
      tenant_id: tenant.id,
      provider_type: 'OIDC',
      name: 'Beta login',
      config: { issuer: 'https://idp.example.com', client_id: 'c', client_secret: CLIENT_SECRET },
    });
    const all = await t.get(`/api/v1/admin/identity-providers/?tenant_id=${tenant.id}`);
    expect(all.body.data.map((p: { id: string }) => p.id)).toEqual([oidc.id, ldap.id]);
    const byType = await t.get(`/api/v1/admin/identity-providers/?tenant_id=${tenant.id}&provider_type=OIDC`);
    expect(byType.body.data.map((p: { id: string }) => p.id)).toEqual([oidc.id]);
    const bySearch = await t.get(`/api/v1/admin/identity-providers/?tenant_id=${tenant.id}&search=alpha`);
    expect(bySearch.body.data.map((p: { id: string }) => p.id)).toEqual([ldap.id]);
    const paged = await t.get(`/api/v1/admin/identity-providers/?tenant_id=${tenant.id}&per_page=1&page=2`);
    expect(paged.body.data.map((p: { id: string }) => p.id)).toEqual([ldap.id]);

    const sync = await t.post(`/api/v1/admin/identity-providers/${oidc.id}/sync`, {});
    expect(sync.status).toBe(400);
    expect(sync.body.code).toBe('NOT_A_DIRECTORY');
    expect((await t.get(`/api/v1/admin/identity-providers/${oidc.id}/sync-runs`)).status).toBe(400);
    const runs = await t.get(`/api/v1/admin/identity-providers/${ldap.id}/sync-runs`);
    expect(runs.status).toBe(200);
    expect(runs.body.data).toEqual([]);

    expect((await t.delete(`/api/v1/admin/identity-providers/${oidc.id}`)).status).toBe(204);
    expect((await t.get(`/api/v1/admin/identity-providers/${oidc.id}`)).status).toBe(404);
    expect((await t.delete(`/api/v1/admin/identity-providers/${oidc.id}`)).status).toBe(404);
    expect((await t.get('/api/v1/admin/identity-providers/idp_not-an-id')).status).toBe(404);
  });

  it('says what failed when the directory cannot be reached (test)', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant);
    const tested = await t.post(`/api/v1/admin/identity-providers/${provider.id}/test`, {});
    expect(tested.status).toBe(200);
    expect(tested.body.data.ok).toBe(false);
    const failed = tested.body.data.checks.find((check: { ok: boolean }) => !check.ok);
    expect(failed.detail).toMatch(/\S/);
    expect(JSON.stringify(tested.body)).not.toContain(BIND_PASSWORD);
  });

  it('lists the enabled OIDC and SAML providers of a sign-in page, not directories or disabled ones', async () => {
    const tenant = await createTenant(t);
    await ldapProvider(tenant);
    const oidc = await createProvider({
      tenant_id: tenant.id,
      provider_type: 'OIDC',
      name: 'Okta',
      button_label: 'Okta workforce',
      config: { issuer: 'https://okta.example.com', client_id: 'c', client_secret: CLIENT_SECRET },
    });
    await createProvider({
      tenant_id: tenant.id,
      provider_type: 'OIDC',
      name: 'Off',
      enabled: false,
      config: { issuer: 'https://off.example.com', client_id: 'c', client_secret: CLIENT_SECRET },
    });
    const buttons = await t.get(`/api/v1/auth/tenants/${tenant.slug}/federation/idps`, { token: null });
    expect(buttons.status).toBe(200);
    expect(buttons.body.data).toEqual([
      {
        id: oidc.id,
        name: 'Okta',
        button_label: 'Okta workforce',
        provider_type: 'OIDC',
        login_path: `/api/v1/auth/tenants/${tenant.slug}/interaction/{uid}/federation/${oidc.id}`,
      },
    ]);
    expect((await t.get('/api/v1/auth/tenants/no-such-tenant/federation/idps', { token: null })).status).toBe(
      404,
    );
  });
});

describe('identity providers: who may see and change them', () => {
  it('follows the admin roles: a foreign tenant’s provider is 404, a partner admin sees its tenants', async () => {
    const partner = await createPartner(t);
    const mine = await createTenant(t, { partner_id: partner.id });
    const sibling = await createTenant(t, { partner_id: partner.id });
    const foreign = await createTenant(t);
    const minesProvider = await ldapProvider(mine);
    const siblingsProvider = await ldapProvider(sibling);
    const foreignProvider = await ldapProvider(foreign);

    const tenantAdmin = (await adminUserToken(t, { role: 'tenant_admin', tenant: mine })).token;
    const partnerAdmin = (await adminUserToken(t, { role: 'partner_admin', tenant: mine })).token;
    for (const id of [siblingsProvider.id, foreignProvider.id]) {
      expect((await t.get(`/api/v1/admin/identity-providers/${id}`, { token: tenantAdmin })).status).toBe(
        404,
      );
      expect(
        (await t.patch(`/api/v1/admin/identity-providers/${id}`, { name: 'x' }, { token: tenantAdmin }))
          .status,
      ).toBe(404);
      expect((await t.delete(`/api/v1/admin/identity-providers/${id}`, { token: tenantAdmin })).status).toBe(
        404,
      );
      expect(
        (await t.post(`/api/v1/admin/identity-providers/${id}/test`, {}, { token: tenantAdmin })).status,
      ).toBe(404);
    }
    const own = await t.get('/api/v1/admin/identity-providers/', { token: tenantAdmin });
    expect(own.body.data.map((p: { id: string }) => p.id)).toEqual([minesProvider.id]);
    // A tenant admin creates in its own tenant without naming it; another tenant is 404.
    const created = await createProvider(
      { provider_type: 'LDAP', name: 'Own', config: ldapConfig() },
      tenantAdmin,
    );
    expect(created.tenant_id).toBe(mine.id);
    const elsewhere = await t.post(
      '/api/v1/admin/identity-providers/',
      { tenant_id: foreign.id, provider_type: 'LDAP', name: 'X', config: ldapConfig() },
      { token: tenantAdmin },
    );
    expect(elsewhere.status).toBe(404);

    const partnerList = await t.get('/api/v1/admin/identity-providers/', { token: partnerAdmin });
    const seen = partnerList.body.data.map((p: { id: string }) => p.id);
    expect(seen).toEqual(expect.arrayContaining([minesProvider.id, siblingsProvider.id, created.id]));
    expect(seen).not.toContain(foreignProvider.id);
    expect(
      (await t.get(`/api/v1/admin/identity-providers/${foreignProvider.id}`, { token: partnerAdmin })).status,
    ).toBe(404);

    const reader = (
      await adminUserToken(t, { role: 'tenant_admin', tenant: mine, scope: 'openid admin:read' })
    ).token;
    const refused = await t.patch(
      `/api/v1/admin/identity-providers/${minesProvider.id}`,
      { name: 'y' },
      { token: reader },
    );
    expect(refused.status).toBe(403);
  });

  it('audits every change without a secret', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant);
    await t.patch(`/api/v1/admin/identity-providers/${provider.id}`, {
      config: { bind_password: 'rotated-Secret-55' },
    });
    await t.delete(`/api/v1/admin/identity-providers/${provider.id}`);
    const entries = await t.get(`/api/v1/admin/audit/?resource_id=${provider.id}&per_page=100`);
    expect(entries.status).toBe(200);
    expect(entries.body.data.map((e: { action: string }) => e.action).sort()).toEqual([
      'identity_provider.created',
      'identity_provider.deleted',
      'identity_provider.updated',
    ]);
    const text = JSON.stringify(entries.body);
    expect(text).not.toContain(BIND_PASSWORD);
    expect(text).not.toContain('rotated-Secret-55');
  });
});

import { once } from 'node:events';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { Mailer, smtpTransport } from '../src/platform/mail/mailer.js';
import { adminUserToken, createPartner, createTenant, insertUser } from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const STRONG = 'Correct-Horse-Battery-9';
let n = 0;
const email = () => `admin-user-${++n}-${Date.now().toString(36)}@example.com`;

async function adminCreate(tenantId: string, fields: Record<string, unknown> = {}) {
  const response = await t.post('/api/v1/admin/users/', {
    tenant_id: tenantId,
    email: email(),
    send_welcome_email: false,
    ...fields,
  });
  if (response.status !== 201)
    throw new Error(`adminCreate: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data as { id: string; email: string; tenant_id: string };
}

describe('admin user routes', () => {
  it('creates in a given tenant, reads, updates and soft-deletes by id alone', async () => {
    const tenant = await createTenant(t);
    const user = await adminCreate(tenant.id, { display_name: 'Admin Made', password: STRONG });
    expect(user.tenant_id).toBe(tenant.id);
    const read = await t.get(`/api/v1/admin/users/${user.id}`);
    expect(read.body.data).toMatchObject({ id: user.id, display_name: 'Admin Made', status: 'ACTIVE' });
    const patched = await t.patch(`/api/v1/admin/users/${user.id}`, { display_name: 'Renamed' });
    expect(patched.body.data.display_name).toBe('Renamed');
    expect((await t.delete(`/api/v1/admin/users/${user.id}`)).status).toBe(204);
    expect((await t.get(`/api/v1/admin/users/${user.id}`)).status).toBe(404);
    const missingTenant = await t.post('/api/v1/admin/users/', { email: email() });
    expect(missingTenant.status).toBe(422);
    expect(missingTenant.body.detail[0].loc).toEqual(['body', 'tenant_id']);
    const unknownTenant = await t.post('/api/v1/admin/users/', {
      email: email(),
      tenant_id: 'tnt_00000000000000000000',
    });
    expect(unknownTenant.status).toBe(404);
  });

  it('lists across tenants with tenant_id, partner_id, status and search filters and role visibility', async () => {
    const partner = await createPartner(t);
    const inPartner = await createTenant(t, { partner_id: partner.id });
    const other = await createTenant(t);
    const a = await adminCreate(inPartner.id, { first_name: 'Quentin', password: STRONG });
    const b = await adminCreate(inPartner.id);
    const c = await adminCreate(other.id, { first_name: 'Quentin' });
    const list = async (query: string, bearer = t.token) =>
      (await t.request({ method: 'GET', url: `/api/v1/admin/users/?${query}`, token: bearer })).body;
    expect((await list(`tenant_id=${inPartner.id}`)).pagination.total_items).toBe(2);
    expect((await list(`partner_id=${partner.id}`)).data.map((u: { id: string }) => u.id).sort()).toEqual(
      [a.id, b.id].sort(),
    );
    expect(
      (await list(`partner_id=${partner.id}&status=ACTIVE`)).data.map((u: { id: string }) => u.id),
    ).toEqual([a.id]);
    const searched = (await list('search=quentin&per_page=100')).data.map((u: { id: string }) => u.id);
    expect(searched).toEqual(expect.arrayContaining([a.id, c.id]));
    expect(searched).not.toContain(b.id);

    const { token: partnerAdmin } = await adminUserToken(t, {
      role: 'partner_admin',
      tenant: inPartner,
      partnerId: partner.id,
    });
    const seen = (await list('per_page=100', partnerAdmin)).data.map((u: { id: string }) => u.id);
    expect(seen).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(seen).not.toContain(c.id);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/users/${c.id}`, token: partnerAdmin })).status,
    ).toBe(404);
    const { token: tenantAdmin } = await adminUserToken(t, { role: 'tenant_admin', tenant: other });
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/admin/users/${a.id}`, token: tenantAdmin })).status,
    ).toBe(404);
    expect(
      (
        await t.request({
          method: 'PATCH',
          url: `/api/v1/admin/users/${a.id}`,
          token: tenantAdmin,
          body: { first_name: 'x' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await t.request({
          method: 'POST',
          url: '/api/v1/admin/users/',
          token: tenantAdmin,
          body: { tenant_id: inPartner.id, email: email() },
        })
      ).status,
    ).toBe(404);
  });

  it("lists a user's groups with DIRECT and INHERITED memberships", async () => {
    const tenant = await createTenant(t);
    const mk = async (name: string, parent?: string) =>
      (
        await t.post(`/api/v1/tenants/${tenant.id}/groups`, {
          name,
          ...(parent ? { parent_group_id: parent } : {}),
        })
      ).body.data.id as string;
    const top = await mk('Top');
    const mid = await mk('Mid', top);
    const user = await adminCreate(tenant.id, { group_ids: [mid] });
    const groups = await t.get(`/api/v1/admin/users/${user.id}/groups`);
    expect(groups.status).toBe(200);
    expect(groups.body.data).toEqual(
      expect.arrayContaining([
        { group_id: mid, name: 'Mid', membership_type: 'DIRECT' },
        { group_id: top, name: 'Top', membership_type: 'INHERITED' },
      ]),
    );
    expect(groups.body.data).toHaveLength(2);
  });

  it('disables MFA (factors removed), unlocks, and resets passwords directly or by mail', async () => {
    const tenant = await createTenant(t);
    const user = await adminCreate(tenant.id, { password: STRONG });
    await t.database.db
      .updateTable('users')
      .set({ mfa_enabled: true, status: 'LOCKED', failed_login_attempts: 7 })
      .where('id', '=', user.id)
      .execute();
    await t.database.db
      .insertInto('mfa_factors')
      .values({
        tenant_id: tenant.id,
        id: 'mfa_aaaaaaaaaaaaaaaaaaaa',
        user_id: user.id,
        factor_type: 'TOTP',
        secret: 's',
        label: null,
      })
      .execute();

    const mfa = await t.post(`/api/v1/admin/users/${user.id}/mfa/disable`);
    expect(mfa.status).toBe(200);
    expect(mfa.body.data.mfa_enabled).toBe(false);
    expect(
      await t.database.db.selectFrom('mfa_factors').selectAll().where('user_id', '=', user.id).execute(),
    ).toEqual([]);

    const unlocked = await t.post(`/api/v1/admin/users/${user.id}/unlock`);
    expect(unlocked.body.data.status).toBe('ACTIVE');
    const row = await t.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.failed_login_attempts).toBe(0);

    const direct = await t.post(`/api/v1/admin/users/${user.id}/reset-password`, {
      method: 'DIRECT',
      new_password: 'Brand-New-Secret-7',
    });
    expect(direct.status).toBe(200);
    const weak = await t.post(`/api/v1/admin/users/${user.id}/reset-password`, {
      method: 'DIRECT',
      new_password: 'weak',
    });
    expect(weak.status).toBe(400);
    const mailed = await t.post(`/api/v1/admin/users/${user.id}/reset-password`, {});
    expect(mailed.body.data.method).toBe('EMAIL');
    const mail = await lastMailTo(t, user.email);
    expect(linkIn(mail?.text_body ?? '').token.length).toBeGreaterThan(30);

    const actions = (
      await t.database.db
        .selectFrom('audit_events')
        .select('action')
        .where('resource_id', '=', user.id)
        .execute()
    ).map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'user.mfa_disabled',
        'user.unlocked',
        'user.password_changed',
        'user.password_reset_requested',
      ]),
    );
    for (const path of ['mfa/disable', 'unlock']) {
      expect((await t.post(`/api/v1/admin/users/usr_00000000000000000000/${path}`)).status).toBe(404);
    }
  });

  it('finds identity-source mismatches and fixes them with fix=true', async () => {
    const tenant = await createTenant(t);
    const ldapUser = await insertUser(t, tenant.id);
    const okUser = await insertUser(t, tenant.id);
    const mixedUser = await insertUser(t, tenant.id);
    const idp = async (id: string, type: 'LDAP' | 'OIDC') =>
      t.database.db
        .insertInto('identity_providers')
        .values({ tenant_id: tenant.id, id, name: id, provider_type: type })
        .execute();
    await idp('idp_ldap0000000000000001', 'LDAP');
    await idp('idp_oidc0000000000000001', 'OIDC');
    const link = (userId: string, idpId: string) =>
      t.database.db
        .insertInto('federated_identities')
        .values({
          tenant_id: tenant.id,
          id: `fid_${Math.random().toString(36).slice(2, 22).padEnd(20, '0')}`,
          user_id: userId,
          identity_provider_id: idpId,
          subject: `${userId}-${idpId}`,
        })
        .execute();
    await link(ldapUser.id, 'idp_ldap0000000000000001');
    await t.database.db
      .updateTable('users')
      .set({ identity_source: 'OIDC' })
      .where('id', '=', okUser.id)
      .execute();
    await link(okUser.id, 'idp_oidc0000000000000001');
    await link(mixedUser.id, 'idp_ldap0000000000000001');
    await link(mixedUser.id, 'idp_oidc0000000000000001');

    const report = await t.get(`/api/v1/admin/users/identity-source/mismatches?tenant_id=${tenant.id}`);
    expect(report.status).toBe(200);
    expect(report.body.data.total).toBe(2);
    expect(report.body.data.fixed).toBe(0);
    expect(report.body.data.mismatches).toContainEqual(
      expect.objectContaining({
        user_id: ldapUser.id,
        identity_source: 'LOCAL',
        expected_identity_source: 'LDAP',
        fixed: false,
      }),
    );
    const fixed = await t.get(
      `/api/v1/admin/users/identity-source/mismatches?tenant_id=${tenant.id}&fix=true`,
    );
    expect(fixed.body.data.fixed).toBe(1);
    const row = await t.database.db
      .selectFrom('users')
      .select('identity_source')
      .where('id', '=', ldapUser.id)
      .executeTakeFirstOrThrow();
    expect(row.identity_source).toBe('LDAP');
    const after = await t.get(`/api/v1/admin/users/identity-source/mismatches?tenant_id=${tenant.id}`);
    expect(after.body.data.mismatches.map((m: { user_id: string }) => m.user_id)).toEqual([mixedUser.id]);
    const readOnly = await t.platformToken('admin:read');
    expect(
      (
        await t.request({
          method: 'GET',
          url: `/api/v1/admin/users/identity-source/mismatches?fix=true`,
          token: readOnly,
        })
      ).status,
    ).toBe(403);
  });
});

describe('SMTP transport', () => {
  it('delivers outbox mail to an SMTP server and marks it SENT', async () => {
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (chunk) => {
          data += chunk;
        });
        stream.on('end', () => {
          received.push(data);
          callback();
        });
      },
    });
    server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    const { port } = server.server.address() as { port: number };
    try {
      const mailer = new Mailer(
        t.database.db,
        smtpTransport(`smtp://127.0.0.1:${port}`),
        'ScaiKey <no-reply@scaikey.test>',
        t.app.log,
      );
      const address = email();
      await mailer.enqueue(t.database.db, {
        to: address,
        subject: 'Hello over SMTP',
        text: 'Body text',
        kind: 'test',
        tenantId: null,
      });
      await mailer.flush();
      // Other pending mail of this database may travel in the same run; this one must arrive once.
      const mine = received.filter((message) => message.includes(address));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toContain('Subject: Hello over SMTP');
      expect((await lastMailTo(t, address))?.status).toBe('SENT');
    } finally {
      server.close();
    }
  });
});

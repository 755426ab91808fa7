import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/lib/passwords.js';
import { groupClosureDrift } from '../src/modules/groups/group-closure.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
  type Tenant,
} from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const STRONG = 'Correct-Horse-Battery-9';
let counter = 0;
const email = (prefix = 'user') => `${prefix}.${++counter}.${Date.now().toString(36)}@example.com`;

async function createUser(tenant: Tenant, fields: Record<string, unknown> = {}) {
  const response = await t.request({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/users`,
    token: t.token,
    body: { email: email(), send_welcome_email: false, ...fields },
  });
  if (response.status !== 201)
    throw new Error(`createUser: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data as { id: string; email: string; status: string };
}

async function createGroup(tenant: Tenant, name: string): Promise<string> {
  const response = await t.request({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/groups`,
    token: t.token,
    body: { name },
  });
  if (response.status !== 201)
    throw new Error(`createGroup: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data.id;
}

const userRow = (id: string) =>
  t.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const getUser = (tenant: Tenant, id: string, query = '') =>
  t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users/${id}${query}`, token: t.token });

describe('POST /api/v1/tenants/{tenant_id}/users', () => {
  it('creates an ACTIVE user with a password (argon2id, never returned) and a welcome mail', async () => {
    const tenant = await createTenant(t);
    const address = email('ada');
    const response = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: t.token,
      body: {
        email: address,
        username: 'ada',
        first_name: 'Ada',
        last_name: 'Lovelace',
        display_name: 'Ada Lovelace',
        phone: '+44 20 7946 0000',
        locale: 'en-GB',
        timezone: 'Europe/London',
        password: STRONG,
        custom_attributes: { employee_id: 'E-1' },
      },
    });
    expect(response.status).toBe(201);
    const user = response.body.data;
    expect(user).toMatchObject({
      email: address,
      username: 'ada',
      display_name: 'Ada Lovelace',
      locale: 'en-GB',
      timezone: 'Europe/London',
      status: 'ACTIVE',
      identity_source: 'LOCAL',
      mfa_enabled: false,
      email_verified: false,
      ou_id: null,
      ou_path: null,
      custom_attributes: { employee_id: 'E-1' },
      last_login_at: null,
    });
    expect(user.id).toMatch(/^usr_[0-9a-z]{20}$/);
    expect(user.password_changed_at).not.toBeNull();
    expect(JSON.stringify(response.body)).not.toContain(STRONG);
    expect(JSON.stringify(response.body)).not.toContain('argon2');
    const row = await userRow(user.id);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(row.password_hash as string, STRONG)).toBe(true);
    expect((await lastMailTo(t, address))?.kind).toBe('welcome');
    const audit = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(audit.action).toBe('user.created');
    expect(JSON.stringify(audit.after)).not.toContain(STRONG);
    expect(JSON.stringify(audit.after)).not.toContain('argon2');
  });

  it('creates a PENDING_EMAIL_VERIFICATION user without a password and mails a single-use invitation link', async () => {
    const tenant = await createTenant(t, {
      branding: { display_name: 'Acme Login', primary_color: '#aa0000' },
    });
    const address = email('invitee');
    const created = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: t.token,
      body: { email: address },
    });
    expect(created.body.data.status).toBe('PENDING_EMAIL_VERIFICATION');
    const mail = await lastMailTo(t, address);
    expect(mail).toMatchObject({ kind: 'invitation', tenant_id: tenant.id });
    expect(mail?.subject).toContain('Acme Login');
    const { url, token: linkToken } = linkIn(mail?.text_body ?? '');
    const stored = await t.database.db
      .selectFrom('user_action_tokens')
      .selectAll()
      .where('user_id', '=', created.body.data.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_digest).not.toBe(linkToken);

    const formPage = await t.request({ method: 'GET', url });
    expect(formPage.status).toBe(200);
    expect(formPage.headers['content-type']).toContain('text/html');
    expect(formPage.headers['referrer-policy']).toBe('no-referrer');
    expect(String(formPage.body)).toContain('<form method="post">');
    expect(String(formPage.body)).toContain('Acme Login');

    const weak = await t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        token: linkToken,
        new_password: 'short',
        confirm_password: 'short',
      }).toString(),
    });
    expect(weak.status).toBe(400);
    expect(String(weak.body)).toContain('at least 12 characters');

    const set = await t.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        token: linkToken,
        new_password: STRONG,
        confirm_password: STRONG,
      }).toString(),
    });
    expect(set.status).toBe(200);
    expect(String(set.body)).toContain('Your password was set');
    const row = await userRow(created.body.data.id);
    expect(row.status).toBe('ACTIVE');
    expect(row.email_verified).toBe(true);
    expect(await verifyPassword(row.password_hash as string, STRONG)).toBe(true);

    const again = await t.request({
      method: 'POST',
      url: url.split('?')[0] as string,
      body: { token: linkToken, new_password: `${STRONG}-2` },
    });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('INVALID_TOKEN');
    expect((await t.request({ method: 'GET', url })).status).toBe(400);
  });

  it('sends no mail when send_welcome_email is false', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant);
    expect(await lastMailTo(t, user.email)).toBeUndefined();
  });

  it('places the user in an OU and in groups', async () => {
    const tenant = await createTenant(t);
    const ou = (
      await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/ous`,
        token: t.token,
        body: { name: 'Eng' },
      })
    ).body.data;
    const groupId = await createGroup(tenant, 'Devs');
    const user = await createUser(tenant, { ou_id: ou.id, group_ids: [groupId] });
    const read = await getUser(tenant, user.id, '?include=groups,ou');
    expect(read.body.data).toMatchObject({ ou_id: ou.id, ou_path: '/Eng' });
    expect(read.body.data.groups).toEqual([{ group_id: groupId, name: 'Devs', membership_type: 'DIRECT' }]);
    expect((await getUser(tenant, user.id)).body.data.groups).toBeUndefined();
    for (const [field, value] of [
      ['ou_id', 'ou_00000000000000000000'],
      ['group_ids', ['grp_00000000000000000000']],
      ['group_ids', ['nonsense']],
    ] as const) {
      const response = await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/users`,
        token: t.token,
        body: { email: email(), [field]: value },
      });
      expect(response.status, field).toBe(404);
    }
  });

  it('keeps emails unique per tenant case-insensitively, stored as given, reusable in other tenants and after delete', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const address = email('Mixed.Case');
    const first = await createUser(tenant, { email: address });
    expect(first.email).toBe(address);
    const clash = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: t.token,
      body: { email: address.toUpperCase() },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('EMAIL_TAKEN');
    expect((await createUser(other, { email: address })).email).toBe(address);
    await t.request({
      method: 'DELETE',
      url: `/api/v1/tenants/${tenant.id}/users/${first.id}?confirm_email=${encodeURIComponent(address)}`,
      token: t.token,
    });
    expect((await createUser(tenant, { email: address.toLowerCase() })).id).not.toBe(first.id);
  });

  it('enforces each password policy rule and names every failed one (400 PASSWORD_POLICY)', async () => {
    const tenant = await createTenant(t, {
      settings: {
        password_policy: {
          min_length: 14,
          require_uppercase: true,
          require_lowercase: true,
          require_digit: true,
          require_symbol: true,
        },
      },
    });
    const cases: [string, string[]][] = [
      ['short', ['at least 14 characters', 'an uppercase letter', 'a digit', 'a symbol']],
      ['alllowercaseletters', ['an uppercase letter', 'a digit', 'a symbol']],
      ['ALLUPPERCASE-12345', ['a lowercase letter']],
      ['NoDigitsHere-abc', ['a digit']],
      ['NoSymbols12345abc', ['a symbol']],
    ];
    for (const [password, rules] of cases) {
      const response = await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/users`,
        token: t.token,
        body: { email: email(), password },
      });
      expect(response.status, password).toBe(400);
      expect(response.body.code).toBe('PASSWORD_POLICY');
      for (const rule of rules) expect(response.body.detail, password).toContain(rule);
      expect(response.body.detail).not.toContain(password);
    }
    expect((await createUser(tenant, { password: 'Valid-Password-2024' })).status).toBe('ACTIVE');
  });

  it('enforces the partner max_users_per_tenant (409 LIMIT_EXCEEDED), counting live users only', async () => {
    const partner = await createPartner(t, { max_users_per_tenant: 2 });
    const tenant = await createTenant(t, { partner_id: partner.id });
    const first = await createUser(tenant);
    await createUser(tenant);
    const third = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: t.token,
      body: { email: email() },
    });
    expect(third.status).toBe(409);
    expect(third.body.code).toBe('LIMIT_EXCEEDED');
    await t.request({
      method: 'DELETE',
      url: `/api/v1/tenants/${tenant.id}/users/${first.id}?confirm_email=${encodeURIComponent(first.email)}`,
      token: t.token,
    });
    await createUser(tenant);
  });

  it('validates the body (bad email, bad enum-like values, unknown fields, locale and time zone)', async () => {
    const tenant = await createTenant(t);
    const cases: [unknown, (string | number)[], string][] = [
      [{}, ['body', 'email'], 'missing'],
      [{ email: 'not-an-email' }, ['body', 'email'], 'value_error'],
      [{ email: email(), is_admin: true }, ['body', 'is_admin'], 'extra_forbidden'],
      [{ email: email(), send_welcome_email: 'yes' }, ['body', 'send_welcome_email'], 'bool_type'],
      [{ email: email(), group_ids: 'grp_1' }, ['body', 'group_ids'], 'list_type'],
      [{ email: email(), timezone: 'Mars/Olympus' }, ['body', 'timezone'], 'value_error'],
      [{ email: email(), locale: 'not a locale' }, ['body', 'locale'], 'string_pattern_mismatch'],
      [{ email: email(), custom_attributes: 'x' }, ['body', 'custom_attributes'], 'dict_type'],
    ];
    for (const [body, loc, type] of cases) {
      const response = await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/users`,
        token: t.token,
        body,
      });
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.body.detail, JSON.stringify(body)).toContainEqual(
        expect.objectContaining({ loc, type }),
      );
    }
  });
});

describe('GET /api/v1/tenants/{tenant_id}/users', () => {
  it('filters by search, status, ou_id, group_id and mfa_enabled, sorts, and paginates with exact totals', async () => {
    const tenant = await createTenant(t);
    const ou = (
      await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/ous`,
        token: t.token,
        body: { name: 'Ops' },
      })
    ).body.data;
    const filterGroup = await createGroup(tenant, 'Filter');
    const alice = await createUser(tenant, {
      email: 'alice@list.example',
      display_name: 'Alice Zed',
      ou_id: ou.id,
    });
    const bob = await createUser(tenant, {
      email: 'bob@list.example',
      display_name: 'Bob Young',
      group_ids: [filterGroup],
    });
    const carol = await createUser(tenant, {
      email: 'carol@list.example',
      first_name: 'Carolina',
      password: STRONG,
    });
    await t.database.db
      .updateTable('users')
      .set({ mfa_enabled: true, last_login_at: new Date('2026-01-01T00:00:00Z') })
      .where('id', '=', carol.id)
      .execute();
    const list = (query: string) =>
      t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users?${query}`, token: t.token });

    const all = await list('');
    expect(all.body.data.map((u: { id: string }) => u.id)).toEqual([carol.id, bob.id, alice.id]);
    expect(all.body.pagination).toMatchObject({ page: 1, per_page: 20, total_items: 3, total_pages: 1 });
    expect(all.body.data[2]).toEqual({
      id: alice.id,
      email: 'alice@list.example',
      display_name: 'Alice Zed',
      status: 'PENDING_EMAIL_VERIFICATION',
      ou_path: '/Ops',
      identity_source: 'LOCAL',
      mfa_enabled: false,
      last_login_at: null,
    });
    expect((await list('search=CAROL')).body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
    expect((await list('search=young')).body.data.map((u: { id: string }) => u.id)).toEqual([bob.id]);
    expect((await list('status=ACTIVE')).body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
    expect((await list(`ou_id=${ou.id}`)).body.data.map((u: { id: string }) => u.id)).toEqual([alice.id]);
    expect((await list(`group_id=${filterGroup}`)).body.data.map((u: { id: string }) => u.id)).toEqual([
      bob.id,
    ]);
    expect((await list('mfa_enabled=true')).body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
    expect((await list('mfa_enabled=false')).body.pagination.total_items).toBe(2);
    expect((await list('sort_by=email&sort_order=asc')).body.data.map((u: { id: string }) => u.id)).toEqual([
      alice.id,
      bob.id,
      carol.id,
    ]);
    expect(
      (await list('sort_by=display_name&sort_order=asc')).body.data.map((u: { id: string }) => u.id),
    ).toEqual([alice.id, bob.id, carol.id]);
    // Descending puts users who never signed in first (PostgreSQL's nulls-first for DESC).
    expect((await list('sort_by=last_login_at&sort_order=desc')).body.data.at(-1).id).toBe(carol.id);
    expect((await list('sort_by=last_login_at&sort_order=asc')).body.data[0].id).toBe(carol.id);
    expect((await list('sort_by=status&sort_order=asc')).body.data[0].id).toBe(carol.id);
    const paged = await list('per_page=2&page=2&sort_by=email&sort_order=asc');
    expect(paged.body.pagination).toMatchObject({ page: 2, per_page: 2, total_items: 3, total_pages: 2 });
    expect(paged.body.data.map((u: { id: string }) => u.id)).toEqual([carol.id]);
  });

  it('walks every page by keyset cursor with the same rows as page numbers, for every sort', async () => {
    const tenant = await createTenant(t);
    for (let i = 0; i < 7; i++) {
      await createUser(tenant, {
        email: `k${(i * 3) % 7}@keyset.example`,
        display_name: i % 3 === 0 ? null : `Name ${i % 2}`,
      });
    }
    for (const sort of ['created_at', 'email', 'display_name', 'last_login_at', 'status']) {
      for (const order of ['asc', 'desc']) {
        const byPages: string[] = [];
        for (let page = 1; page <= 3; page++) {
          const response = await t.request({
            method: 'GET',
            url: `/api/v1/tenants/${tenant.id}/users?per_page=3&page=${page}&sort_by=${sort}&sort_order=${order}`,
            token: t.token,
          });
          byPages.push(...response.body.data.map((u: { id: string }) => u.id));
        }
        const byCursor: string[] = [];
        let cursor: string | null = null;
        do {
          const url: string = `/api/v1/tenants/${tenant.id}/users?per_page=3&sort_by=${sort}&sort_order=${order}${cursor ? `&cursor=${cursor}` : ''}`;
          const response = await t.request({ method: 'GET', url, token: t.token });
          expect(response.status).toBe(200);
          byCursor.push(...response.body.data.map((u: { id: string }) => u.id));
          cursor = response.body.pagination.next_cursor;
        } while (cursor);
        expect(byCursor, `${sort} ${order}`).toEqual(byPages);
        expect(new Set(byCursor).size).toBe(7);
      }
    }
    const mismatched = await t.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}/users?cursor=garbage`,
      token: t.token,
    });
    expect(mismatched.status).toBe(422);
    expect(mismatched.body.detail[0].loc).toEqual(['query', 'cursor']);
  });

  it('answers 422 for unknown sort_by, sort_order and status values', async () => {
    const tenant = await createTenant(t);
    for (const [query, loc] of [
      ['sort_by=password', ['query', 'sort_by']],
      ['sort_order=up', ['query', 'sort_order']],
      ['status=ASLEEP', ['query', 'status']],
      ['mfa_enabled=perhaps', ['query', 'mfa_enabled']],
      ['per_page=101', ['query', 'per_page']],
    ] as const) {
      const response = await t.request({
        method: 'GET',
        url: `/api/v1/tenants/${tenant.id}/users?${query}`,
        token: t.token,
      });
      expect(response.status, query).toBe(422);
      expect(response.body.detail[0].loc).toEqual(loc);
    }
  });
});

describe('GET and PATCH /api/v1/tenants/{tenant_id}/users/{user_id}', () => {
  it('updates attributes, moves between OUs, clears with null, and audits before/after', async () => {
    const tenant = await createTenant(t);
    const ou = (
      await t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/ous`,
        token: t.token,
        body: { name: 'HR' },
      })
    ).body.data;
    const user = await createUser(tenant, { first_name: 'Old', phone: '123' });
    const patched = await t.request({
      method: 'PATCH',
      url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
      token: t.token,
      body: {
        first_name: 'New',
        phone: null,
        ou_id: ou.id,
        timezone: 'Asia/Tokyo',
        custom_attributes: { level: 3 },
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({
      first_name: 'New',
      phone: null,
      ou_id: ou.id,
      ou_path: '/HR',
      timezone: 'Asia/Tokyo',
      custom_attributes: { level: 3 },
    });
    expect(patched.body.data.updated_at).not.toBeNull();
    const out = await t.request({
      method: 'PATCH',
      url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
      token: t.token,
      body: { ou_id: null, timezone: null },
    });
    expect(out.body.data).toMatchObject({ ou_id: null, ou_path: null, timezone: 'UTC', first_name: 'New' });
    const event = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', user.id)
      .where('action', '=', 'user.updated')
      .orderBy('created_at')
      .executeTakeFirstOrThrow();
    expect(event.before).toMatchObject({ first_name: 'Old', phone: '123', ou_id: null });
    expect(event.after).toMatchObject({ first_name: 'New', phone: null, ou_id: ou.id });
  });

  it('refuses an email taken in the tenant (409), an unknown OU (404) and PATCH fields that are not in UserUpdate (422)', async () => {
    const tenant = await createTenant(t);
    const a = await createUser(tenant);
    const b = await createUser(tenant);
    const taken = await t.request({
      method: 'PATCH',
      url: `/api/v1/tenants/${tenant.id}/users/${b.id}`,
      token: t.token,
      body: { email: a.email.toUpperCase() },
    });
    expect(taken.status).toBe(409);
    const ou = await t.request({
      method: 'PATCH',
      url: `/api/v1/tenants/${tenant.id}/users/${b.id}`,
      token: t.token,
      body: { ou_id: 'ou_00000000000000000000' },
    });
    expect(ou.status).toBe(404);
    for (const body of [{ password: STRONG }, { status: 'DISABLED' }, { email: null }]) {
      const response = await t.request({
        method: 'PATCH',
        url: `/api/v1/tenants/${tenant.id}/users/${b.id}`,
        token: t.token,
        body,
      });
      expect(response.status, JSON.stringify(body)).toBe(422);
    }
    const include = await getUser(tenant, b.id, '?include=everything');
    expect(include.status).toBe(422);
  });
});

describe('DELETE /api/v1/tenants/{tenant_id}/users/{user_id}', () => {
  it('needs confirm_email: missing 422, mismatch 400, match (case-insensitive) 204 and the user vanishes', async () => {
    const tenant = await createTenant(t);
    const group = await createGroup(tenant, 'G');
    const user = await createUser(tenant, { group_ids: [group] });
    const base = `/api/v1/tenants/${tenant.id}/users/${user.id}`;
    const missing = await t.request({ method: 'DELETE', url: base, token: t.token });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0]).toMatchObject({ loc: ['query', 'confirm_email'], type: 'missing' });
    const mismatch = await t.request({
      method: 'DELETE',
      url: `${base}?confirm_email=someone@else.example`,
      token: t.token,
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.code).toBe('CONFIRM_EMAIL_MISMATCH');
    const deleted = await t.request({
      method: 'DELETE',
      url: `${base}?confirm_email=${encodeURIComponent(user.email.toUpperCase())}`,
      token: t.token,
    });
    expect(deleted.status).toBe(204);
    expect((await getUser(tenant, user.id)).status).toBe(404);
    const list = await t.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}/users`,
      token: t.token,
    });
    expect(list.body.pagination.total_items).toBe(0);
    const tenantRead = await t.request({
      method: 'GET',
      url: `/api/v1/admin/tenants/${tenant.id}`,
      token: t.token,
    });
    expect(tenantRead.body.data.user_count).toBe(0);
    const memberships = await t.database.db
      .selectFrom('group_memberships')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(memberships).toEqual([]);
    const members = await t.request({
      method: 'GET',
      url: `/api/v1/admin/groups/${group}/effective-members`,
      token: t.token,
    });
    expect(members.body.pagination.total_items).toBe(0);
    // The maintained group closure still equals its definition after the user left.
    expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });
    const row = await userRow(user.id);
    expect(row.deleted_at).toBeInstanceOf(Date);
    expect(
      (
        await t.request({
          method: 'DELETE',
          url: `${base}?confirm_email=${encodeURIComponent(user.email)}`,
          token: t.token,
        })
      ).status,
    ).toBe(404);
  });
});

describe('password reset', () => {
  it('EMAIL (default) mails a single-use link and answers without any secret', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    const response = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`,
      token: t.token,
      body: {},
    });
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({ user_id: user.id, method: 'EMAIL' });
    const mail = await lastMailTo(t, user.email);
    expect(mail?.kind).toBe('password_reset');
    const { url, token: linkToken } = linkIn(mail?.text_body ?? '');
    expect(JSON.stringify(response.body)).not.toContain(linkToken);
    const set = await t.request({
      method: 'POST',
      url: url.split('?')[0] as string,
      body: { token: linkToken, new_password: 'A-New-Password-42' },
    });
    expect(set.status).toBe(200);
    expect(await verifyPassword((await userRow(user.id)).password_hash as string, 'A-New-Password-42')).toBe(
      true,
    );
    const reuse = await t.request({
      method: 'POST',
      url: url.split('?')[0] as string,
      body: { token: linkToken, new_password: 'Another-Password-43' },
    });
    expect(reuse.status).toBe(400);
  });

  it('a new reset link replaces the previous one', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    const reset = () =>
      t.request({
        method: 'POST',
        url: `/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`,
        token: t.token,
        body: { method: 'EMAIL' },
      });
    await reset();
    const first = linkIn((await lastMailTo(t, user.email))?.text_body ?? '');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await reset();
    expect((await t.request({ method: 'GET', url: first.url })).status).toBe(400);
  });

  it('DIRECT sets the password, checking policy and history', async () => {
    const tenant = await createTenant(t, { settings: { password_policy: { history: 2 } } });
    const user = await createUser(tenant, { password: STRONG });
    const url = `/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`;
    const missing = await t.request({ method: 'POST', url, token: t.token, body: { method: 'DIRECT' } });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0].loc).toEqual(['body', 'new_password']);
    const reused = await t.request({
      method: 'POST',
      url,
      token: t.token,
      body: { method: 'DIRECT', new_password: STRONG },
    });
    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe('PASSWORD_POLICY');
    const ok = await t.request({
      method: 'POST',
      url,
      token: t.token,
      body: { method: 'DIRECT', new_password: 'Second-Password-2' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ method: 'DIRECT', expires_at: null });
    const third = await t.request({
      method: 'POST',
      url,
      token: t.token,
      body: { method: 'DIRECT', new_password: 'Third-Password-33' },
    });
    expect(third.status).toBe(200);
    // history 2: the last two (Second, Third) are refused, the first one is allowed again.
    expect(
      (
        await t.request({
          method: 'POST',
          url,
          token: t.token,
          body: { method: 'DIRECT', new_password: 'Second-Password-2' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await t.request({
          method: 'POST',
          url,
          token: t.token,
          body: { method: 'DIRECT', new_password: STRONG },
        })
      ).status,
    ).toBe(200);
    const bad = await t.request({ method: 'POST', url, token: t.token, body: { method: 'SMS' } });
    expect(bad.status).toBe(422);
  });

  it('refuses a redirect_uri that no application of the tenant knows', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    const response = await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenant.id}/users/${user.id}/password/reset`,
      token: t.token,
      body: { redirect_uri: 'https://evil.example/after' },
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('INVALID_REDIRECT_URI');
  });
});

describe('PUT /api/v1/tenants/{tenant_id}/users/{user_id}/status', () => {
  const put = (tenant: Tenant, userId: string, body: unknown) =>
    t.request({
      method: 'PUT',
      url: `/api/v1/tenants/${tenant.id}/users/${userId}/status`,
      token: t.token,
      body,
    });

  it('follows the transitions of decisions.md, with no-ops and refusals', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant, { password: STRONG });
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).status).toBe(200);
    const disabled = await put(tenant, user.id, { status: 'DISABLED', reason: 'left the company' });
    expect(disabled.body.data.status).toBe('DISABLED');
    expect((await put(tenant, user.id, { status: 'DISABLED' })).status).toBe(200);
    const toPending = await put(tenant, user.id, { status: 'PENDING_APPROVAL' });
    expect(toPending.status).toBe(400);
    expect(toPending.body.code).toBe('INVALID_STATUS_TRANSITION');
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).body.data.status).toBe('ACTIVE');

    await t.database.db
      .updateTable('users')
      .set({ status: 'LOCKED', failed_login_attempts: 5, locked_until: new Date(Date.now() + 60_000) })
      .where('id', '=', user.id)
      .execute();
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).body.data.status).toBe('ACTIVE');
    const row = await userRow(user.id);
    expect(row).toMatchObject({ failed_login_attempts: 0, locked_until: null });

    await t.database.db
      .updateTable('users')
      .set({ status: 'PENDING_APPROVAL' })
      .where('id', '=', user.id)
      .execute();
    expect((await put(tenant, user.id, { status: 'ACTIVE' })).status).toBe(200);
    await t.database.db
      .updateTable('users')
      .set({ status: 'PENDING_APPROVAL' })
      .where('id', '=', user.id)
      .execute();
    expect((await put(tenant, user.id, { status: 'DISABLED' })).status).toBe(200);

    const pending = await createUser(tenant);
    expect((await put(tenant, pending.id, { status: 'ACTIVE' })).status).toBe(400);
    expect((await put(tenant, pending.id, { status: 'DISABLED' })).status).toBe(200);
    expect((await put(tenant, user.id, { status: 'ASLEEP' })).status).toBe(422);
    const audits = await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', user.id)
      .execute();
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['user.suspended', 'user.activated']));
  });

  it('terminate_sessions revokes every session and refresh token, and a disabled user token stops working', async () => {
    const tenant = await createTenant(t);
    const { token: adminToken, user } = await adminUserToken(t, { role: 'tenant_admin', tenant });
    for (const model of ['Session', 'RefreshToken', 'Grant']) {
      await t.database.db
        .insertInto('oidc_payloads')
        .values({
          model,
          id: `${model}-${user.id}`,
          payload: JSON.stringify({ accountId: user.id }),
          grant_id: null,
          user_code: null,
          uid: null,
          expires_at: null,
          consumed_at: null,
        })
        .execute();
    }
    await t.database.db
      .insertInto('oidc_payloads')
      .values({
        model: 'Session',
        id: 'someone-else',
        payload: JSON.stringify({ accountId: 'usr_other' }),
        grant_id: null,
        user_code: null,
        uid: null,
        expires_at: null,
        consumed_at: null,
      })
      .execute();
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token: adminToken }))
        .status,
    ).toBe(200);
    const response = await put(tenant, user.id, { status: 'DISABLED', terminate_sessions: true });
    expect(response.status).toBe(200);
    const left = await t.database.db
      .selectFrom('oidc_payloads')
      .select('id')
      .where('id', 'like', `%${user.id}`)
      .execute();
    expect(left).toEqual([]);
    expect(
      await t.database.db
        .selectFrom('oidc_payloads')
        .select('id')
        .where('id', '=', 'someone-else')
        .executeTakeFirst(),
    ).toBeDefined();
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token: adminToken }))
        .status,
    ).toBe(401);
  });
});

describe('tenancy and access', () => {
  it("answers 404 for another tenant's users and for tenants outside the caller's reach", async () => {
    const tenantA = await createTenant(t);
    const tenantB = await createTenant(t);
    const userA = await createUser(tenantA);
    for (const [method, url, body] of [
      ['GET', `/api/v1/tenants/${tenantB.id}/users/${userA.id}`, undefined],
      ['PATCH', `/api/v1/tenants/${tenantB.id}/users/${userA.id}`, { first_name: 'x' }],
      [
        'DELETE',
        `/api/v1/tenants/${tenantB.id}/users/${userA.id}?confirm_email=${encodeURIComponent(userA.email)}`,
        undefined,
      ],
      ['POST', `/api/v1/tenants/${tenantB.id}/users/${userA.id}/password/reset`, {}],
      ['PUT', `/api/v1/tenants/${tenantB.id}/users/${userA.id}/status`, { status: 'DISABLED' }],
      ['GET', `/api/v1/tenants/${tenantA.id}/users/usr_00000000000000000000`, undefined],
      ['GET', `/api/v1/tenants/${tenantA.id}/users/nonsense`, undefined],
    ] as const) {
      expect((await t.request({ method, url, token: t.token, body })).status, `${method} ${url}`).toBe(404);
    }
    const { token: adminB } = await adminUserToken(t, { role: 'tenant_admin', tenant: tenantB });
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenantA.id}/users`, token: adminB })).status,
    ).toBe(404);
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/api/v1/tenants/${tenantA.id}/users`,
          token: adminB,
          body: { email: email() },
        })
      ).status,
    ).toBe(404);
  });

  it('lets a users:read application read but not write', async () => {
    const tenant = await createTenant(t);
    const user = await createUser(tenant);
    const app = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      allowedScopes: ['users:read'],
    });
    const reader = applicationToken(t, app, ['users:read']);
    expect(
      (await t.request({ method: 'GET', url: `/api/v1/tenants/${tenant.id}/users`, token: reader })).status,
    ).toBe(200);
    expect(
      (
        await t.request({
          method: 'GET',
          url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
          token: reader,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.request({
          method: 'POST',
          url: `/api/v1/tenants/${tenant.id}/users`,
          token: reader,
          body: { email: email() },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await t.request({
          method: 'PATCH',
          url: `/api/v1/tenants/${tenant.id}/users/${user.id}`,
          token: reader,
          body: { first_name: 'x' },
        })
      ).status,
    ).toBe(403);
  });
});

// Users: create, list, read and update, and tenancy and access of the user routes. Deleting users,
// password reset and status changes are in users-lifecycle.test.ts.
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/lib/passwords.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
} from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { useTestApp } from './helpers/test-app.js';
import { STRONG, usersApi } from './helpers/users.js';

const t = useTestApp();
const { email, createUser, createGroup, userRow, getUser } = usersApi(t);

describe('POST /api/v1/tenants/{tenant_id}/users', () => {
  it('creates an ACTIVE user with a password (argon2id, never returned) and a welcome mail', async () => {
    const tenant = await createTenant(t);
    const address = email('ada');
    const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
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
    const created = await t.post(`/api/v1/tenants/${tenant.id}/users`, { email: address });
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
    // A form post sends the page's CSRF token and the cookie that came with it.
    const csrf = /name="csrf" value="([^"]*)"/.exec(String(formPage.body))?.[1] as string;
    const cookie = String([formPage.headers['set-cookie']].flat()[0]).split(';')[0] as string;
    const form = { 'content-type': 'application/x-www-form-urlencoded', cookie };

    const weak = await t.request({
      method: 'POST',
      url,
      headers: form,
      payload: new URLSearchParams({
        token: linkToken,
        new_password: 'short',
        confirm_password: 'short',
        csrf,
      }).toString(),
    });
    expect(weak.status).toBe(400);
    expect(String(weak.body)).toContain('at least 12 characters');

    const set = await t.request({
      method: 'POST',
      url,
      headers: form,
      payload: new URLSearchParams({
        token: linkToken,
        new_password: STRONG,
        confirm_password: STRONG,
        csrf,
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
    const ou = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Eng' })).body.data;
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
      const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, { email: email(), [field]: value });
      expect(response.status, field).toBe(404);
    }
  });

  it('keeps emails unique per tenant case-insensitively, stored as given, reusable in other tenants and after delete', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const address = email('Mixed.Case');
    const first = await createUser(tenant, { email: address });
    expect(first.email).toBe(address);
    const clash = await t.post(`/api/v1/tenants/${tenant.id}/users`, { email: address.toUpperCase() });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('EMAIL_TAKEN');
    expect((await createUser(other, { email: address })).email).toBe(address);
    await t.delete(
      `/api/v1/tenants/${tenant.id}/users/${first.id}?confirm_email=${encodeURIComponent(address)}`,
    );
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
      const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, { email: email(), password });
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
    const third = await t.post(`/api/v1/tenants/${tenant.id}/users`, { email: email() });
    expect(third.status).toBe(409);
    expect(third.body.code).toBe('LIMIT_EXCEEDED');
    await t.delete(
      `/api/v1/tenants/${tenant.id}/users/${first.id}?confirm_email=${encodeURIComponent(first.email)}`,
    );
    await createUser(tenant);
  });

  // Issue 17: the create without groups or mail is one statement with its checks folded in.
  it('holds the partner limit under 20 concurrent creates (exactly the limit succeed, the rest 409)', async () => {
    const partner = await createPartner(t, { max_users_per_tenant: 5 });
    const tenant = await createTenant(t, { partner_id: partner.id });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.post(`/api/v1/tenants/${tenant.id}/users`, { email: email(), send_welcome_email: false }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(15);
    for (const response of responses.filter((response) => response.status === 409)) {
      expect(response.body.code).toBe('LIMIT_EXCEEDED');
    }
    const live = await t.database.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenant.id)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    expect(Number(live.n)).toBe(5);
  });

  it('writes the user, its audit entry and its event together, and nothing of a refused create', async () => {
    const tenant = await createTenant(t);
    const ou = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Sales' })).body.data;
    const db = t.database.db;
    const n = (row: { n: number | string | bigint }) => Number(row.n);
    const written = async () => ({
      users: n(
        await db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', tenant.id)
          .executeTakeFirstOrThrow(),
      ),
      audit: n(
        await db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', tenant.id)
          .where('resource_type', '=', 'user')
          .executeTakeFirstOrThrow(),
      ),
      outbox: n(
        await db
          .selectFrom('event_outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', tenant.id)
          .where('resource_type', '=', 'user')
          .executeTakeFirstOrThrow(),
      ),
    });
    const address = email();
    const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: address,
      ou_id: ou.id,
      display_name: 'One Statement',
      send_welcome_email: false,
    });
    expect(response.status).toBe(201);
    // The answer comes from the insert itself, with the OU's path.
    expect(response.body.data).toMatchObject({ email: address, ou_id: ou.id, ou_path: '/Sales' });
    expect((await getUser(tenant, response.body.data.id)).body.data).toEqual(response.body.data);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'after'])
      .where('tenant_id', '=', tenant.id)
      .where('resource_id', '=', response.body.data.id)
      .execute();
    expect(audit).toEqual([
      {
        action: 'user.created',
        after: expect.objectContaining({ email: address, ou_id: ou.id, mail: null }),
      },
    ]);
    const event = await t.database.db
      .selectFrom('event_outbox')
      .select(['type', 'data'])
      .where('tenant_id', '=', tenant.id)
      .where('resource_id', '=', response.body.data.id)
      .execute();
    expect(event).toEqual([{ type: 'user.created', data: expect.objectContaining({ email: address }) }]);
    expect(await written()).toEqual({ users: 1, audit: 1, outbox: 1 });

    const clash = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: address.toUpperCase(),
      send_welcome_email: false,
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('EMAIL_TAKEN');
    const missingOu = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: email(),
      ou_id: 'ou_00000000000000000000',
      send_welcome_email: false,
    });
    expect(missingOu.status).toBe(404);
    // Another tenant's OU is missing here too.
    const other = await createTenant(t);
    const foreignOu = (await t.post(`/api/v1/tenants/${other.id}/ous`, { name: 'Theirs' })).body.data;
    const foreign = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: email(),
      ou_id: foreignOu.id,
      send_welcome_email: false,
    });
    expect(foreign.status).toBe(404);
    expect(await written()).toEqual({ users: 1, audit: 1, outbox: 1 });
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
      const response = await t.post(`/api/v1/tenants/${tenant.id}/users`, body);
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
    const ou = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Ops' })).body.data;
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
    const list = (query: string) => t.get(`/api/v1/tenants/${tenant.id}/users?${query}`);

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
          const response = await t.get(
            `/api/v1/tenants/${tenant.id}/users?per_page=3&page=${page}&sort_by=${sort}&sort_order=${order}`,
          );
          byPages.push(...response.body.data.map((u: { id: string }) => u.id));
        }
        const byCursor: string[] = [];
        let cursor: string | null = null;
        do {
          const url: string = `/api/v1/tenants/${tenant.id}/users?per_page=3&sort_by=${sort}&sort_order=${order}${cursor ? `&cursor=${cursor}` : ''}`;
          const response = await t.get(url);
          expect(response.status).toBe(200);
          byCursor.push(...response.body.data.map((u: { id: string }) => u.id));
          cursor = response.body.pagination.next_cursor;
        } while (cursor);
        expect(byCursor, `${sort} ${order}`).toEqual(byPages);
        expect(new Set(byCursor).size).toBe(7);
      }
    }
    const mismatched = await t.get(`/api/v1/tenants/${tenant.id}/users?cursor=garbage`);
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
      const response = await t.get(`/api/v1/tenants/${tenant.id}/users?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body.detail[0].loc).toEqual(loc);
    }
  });
});

describe('GET and PATCH /api/v1/tenants/{tenant_id}/users/{user_id}', () => {
  it('updates attributes, moves between OUs, clears with null, and audits before/after', async () => {
    const tenant = await createTenant(t);
    const ou = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'HR' })).body.data;
    const user = await createUser(tenant, { first_name: 'Old', phone: '123' });
    const patched = await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, {
      first_name: 'New',
      phone: null,
      ou_id: ou.id,
      timezone: 'Asia/Tokyo',
      custom_attributes: { level: 3 },
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
    const out = await t.patch(`/api/v1/tenants/${tenant.id}/users/${user.id}`, {
      ou_id: null,
      timezone: null,
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
    const taken = await t.patch(`/api/v1/tenants/${tenant.id}/users/${b.id}`, {
      email: a.email.toUpperCase(),
    });
    expect(taken.status).toBe(409);
    const ou = await t.patch(`/api/v1/tenants/${tenant.id}/users/${b.id}`, {
      ou_id: 'ou_00000000000000000000',
    });
    expect(ou.status).toBe(404);
    for (const body of [{ password: STRONG }, { status: 'DISABLED' }, { email: null }]) {
      const response = await t.patch(`/api/v1/tenants/${tenant.id}/users/${b.id}`, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
    }
    const include = await getUser(tenant, b.id, '?include=everything');
    expect(include.status).toBe(422);
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

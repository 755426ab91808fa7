import { describe, expect, it } from 'vitest';
import { createPartner, createTenant, insertUser } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const auditActions = async (resourceId: string) =>
  (
    await t.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('resource_id', '=', resourceId)
      .orderBy('created_at')
      .execute()
  ).map((row) => row.action);

describe('POST /api/v1/admin/tenants/', () => {
  it('creates a tenant in the platform partner with effective default settings', async () => {
    const platformPartner = (await t.get('/api/v1/admin/partners/?search=platform')).body.data[0];
    const response = await t.post('/api/v1/admin/tenants/', {
      name: 'Widget Co',
      contact_email: 'it@widget.example',
    });
    expect(response.status).toBe(201);
    const tenant = response.body.data;
    expect(tenant).toMatchObject({
      name: 'Widget Co',
      slug: 'widget-co',
      partner_id: platformPartner.id,
      status: 'ACTIVE',
      contact_email: 'it@widget.example',
      branding: {},
      user_count: 0,
      group_count: 0,
      ou_count: 0,
    });
    expect(tenant.id).toMatch(/^tnt_[0-9a-z]{20}$/);
    expect(tenant.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(tenant.settings).toEqual({
      mfa_required: false,
      mfa_methods: ['totp', 'email', 'webauthn'],
      password_policy: {
        min_length: 12,
        require_uppercase: false,
        require_lowercase: false,
        require_digit: false,
        require_symbol: false,
        history: 0,
        max_age_days: 0,
      },
      session_timeout: 480,
      lockout: { max_failed_attempts: 5, lockout_minutes: 15 },
      email_domains: [],
      audit_retention_days: 365,
      federated_local_passwords: false,
    });
    expect(await auditActions(tenant.id)).toEqual(['tenant.created']);
  });

  it('creates a tenant with explicit slug, partner, settings, branding and status', async () => {
    const partner = await createPartner(t);
    const response = await t.post('/api/v1/admin/tenants/', {
      name: 'Explicit',
      slug: 'explicit-tenant',
      partner_id: partner.id,
      status: 'SUSPENDED',
      settings: {
        mfa_required: true,
        mfa_methods: ['totp'],
        password_policy: { min_length: 16, require_digit: true },
      },
      branding: { display_name: 'Explicit Inc.', primary_color: '#0a7cff' },
    });
    expect(response.status).toBe(201);
    expect(response.body.data).toMatchObject({
      slug: 'explicit-tenant',
      partner_id: partner.id,
      status: 'SUSPENDED',
      branding: { display_name: 'Explicit Inc.', primary_color: '#0a7cff' },
    });
    expect(response.body.data.settings.mfa_required).toBe(true);
    expect(response.body.data.settings.password_policy).toMatchObject({
      min_length: 16,
      require_digit: true,
      history: 0,
    });
  });

  it('answers 409 SLUG_TAKEN for a live slug and allows the slug of a deleted tenant', async () => {
    const first = await createTenant(t, { slug: 'contested' });
    const clash = await t.post('/api/v1/admin/tenants/', { name: 'x', slug: 'contested' });
    expect(clash.status).toBe(409);
    expect(clash.body).toEqual({ detail: 'A tenant with this slug already exists', code: 'SLUG_TAKEN' });
    await t.delete(`/api/v1/admin/tenants/${first.id}`);
    const reuse = await t.post('/api/v1/admin/tenants/', { name: 'x', slug: 'contested' });
    expect(reuse.status).toBe(201);
  });

  it('derives a usable slug from names without Latin letters or of two characters', async () => {
    const japanese = await createTenant(t, { name: '日本支社' });
    expect(japanese.slug).toMatch(/^tenant-[0-9a-z]{6}$/);
    const short = await createTenant(t, { name: 'AB' });
    expect(short.slug).toMatch(/^[a-z0-9-]{3,63}$/);
  });

  it('answers 404 for a partner that does not exist and 409 at the partner max_tenants', async () => {
    const missing = await t.post('/api/v1/admin/tenants/', {
      name: 'x',
      partner_id: 'prt_00000000000000000000',
    });
    expect(missing.status).toBe(404);
    const partner = await createPartner(t, { max_tenants: 2 });
    await createTenant(t, { partner_id: partner.id });
    const second = await createTenant(t, { partner_id: partner.id });
    const third = await t.post('/api/v1/admin/tenants/', { name: 'x', partner_id: partner.id });
    expect(third.status).toBe(409);
    expect(third.body.code).toBe('LIMIT_EXCEEDED');
    // A deleted tenant frees its place.
    await t.delete(`/api/v1/admin/tenants/${second.id}`);
    expect((await t.post('/api/v1/admin/tenants/', { name: 'x', partner_id: partner.id })).status).toBe(201);
  });

  it('never exceeds max_tenants under concurrent creates', async () => {
    const partner = await createPartner(t, { max_tenants: 3 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.post('/api/v1/admin/tenants/', { name: `Race ${i}`, partner_id: partner.id }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
    const read = await t.get(`/api/v1/admin/partners/${partner.id}`);
    expect(read.body.data.tenant_count).toBe(3);
  });

  it('validates settings and branding as typed values (422 naming the field)', async () => {
    const cases: [Record<string, unknown>, (string | number)[], string][] = [
      [
        { settings: { password_policy: { min_length: 4 } } },
        ['body', 'settings', 'password_policy', 'min_length'],
        'greater_than_equal',
      ],
      [
        { settings: { password_policy: { min_length: 200 } } },
        ['body', 'settings', 'password_policy', 'min_length'],
        'less_than_equal',
      ],
      [
        { settings: { password_policy: { history: 25 } } },
        ['body', 'settings', 'password_policy', 'history'],
        'less_than_equal',
      ],
      [{ settings: { session_timeout: 1 } }, ['body', 'settings', 'session_timeout'], 'greater_than_equal'],
      [{ settings: { session_timeout: 50000 } }, ['body', 'settings', 'session_timeout'], 'less_than_equal'],
      [{ settings: { mfa_required: 'yes' } }, ['body', 'settings', 'mfa_required'], 'bool_type'],
      [
        { settings: { mfa_methods: ['totp', 'carrier-pigeon'] } },
        ['body', 'settings', 'mfa_methods', 1],
        'enum',
      ],
      [{ settings: { colour: 'red' } }, ['body', 'settings', 'colour'], 'extra_forbidden'],
      [
        { settings: { lockout: { max_failed_attempts: 0 } } },
        ['body', 'settings', 'lockout', 'max_failed_attempts'],
        'greater_than_equal',
      ],
      [
        { branding: { primary_color: 'red;background:url(x)' } },
        ['body', 'branding', 'primary_color'],
        'string_pattern_mismatch',
      ],
      [
        { branding: { logo_url: 'javascript:alert(1)' } },
        ['body', 'branding', 'logo_url'],
        'string_pattern_mismatch',
      ],
      // Issue 11, item 7: every branding field is rendered on the hosted pages or refused.
      [
        { branding: { logo_url: 'http://cdn.example/logo.png' } },
        ['body', 'branding', 'logo_url'],
        'string_pattern_mismatch',
      ],
      [
        { branding: { favicon_url: 'http://cdn.example/favicon.ico' } },
        ['body', 'branding', 'favicon_url'],
        'string_pattern_mismatch',
      ],
      [
        { branding: { logo_url: 'https://cdn.example/a b"><script>' } },
        ['body', 'branding', 'logo_url'],
        'string_pattern_mismatch',
      ],
      [
        { branding: { background_color: '#12345' } },
        ['body', 'branding', 'background_color'],
        'string_pattern_mismatch',
      ],
      [{ branding: { text_color: 'black' } }, ['body', 'branding', 'text_color'], 'string_pattern_mismatch'],
      [
        { branding: { custom_domain: 'login.acme.example' } },
        ['body', 'branding', 'custom_domain'],
        'extra_forbidden',
      ],
      [{ branding: { footer_html: '<b>hi</b>' } }, ['body', 'branding', 'footer_html'], 'extra_forbidden'],
      [
        { branding: { support_email: 'not-an-address' } },
        ['body', 'branding', 'support_email'],
        'value_error',
      ],
      [{ slug: 'UPPER-case' }, ['body', 'slug'], 'string_pattern_mismatch'],
      [{ slug: 'x'.repeat(64) }, ['body', 'slug'], 'string_pattern_mismatch'],
      [{ status: 'DELETED' }, ['body', 'status'], 'enum'],
      [{ contact_email: 'no-at-sign' }, ['body', 'contact_email'], 'value_error'],
      [{ id: 'tnt_00000000000000000000' }, ['body', 'id'], 'extra_forbidden'],
    ];
    for (const [fields, loc, type] of cases) {
      const response = await t.post('/api/v1/admin/tenants/', { name: 'Valid', ...fields });
      expect(response.status, JSON.stringify(fields)).toBe(422);
      expect(response.body.detail, JSON.stringify(fields)).toContainEqual(
        expect.objectContaining({ loc, type }),
      );
    }
  });
});

describe('GET /api/v1/admin/tenants/', () => {
  it('filters by search (name and slug), status and partner_id, with exact pagination', async () => {
    const partner = await createPartner(t);
    const marker = `tl${Date.now().toString(36)}`;
    await createTenant(t, { name: `${marker} One`, partner_id: partner.id });
    await createTenant(t, { name: `${marker} Two`, partner_id: partner.id, status: 'SUSPENDED' });
    await createTenant(t, { name: 'Elsewhere', slug: `${marker}-by-slug` });

    const bySearch = await t.get(`/api/v1/admin/tenants/?search=${marker.toUpperCase()}`);
    expect(bySearch.body.pagination.total_items).toBe(3);
    const byPartner = await t.get(`/api/v1/admin/tenants/?partner_id=${partner.id}`);
    expect(byPartner.body.data.map((x: { name: string }) => x.name)).toEqual([
      `${marker} One`,
      `${marker} Two`,
    ]);
    const byStatus = await t.get(`/api/v1/admin/tenants/?partner_id=${partner.id}&status=SUSPENDED`);
    expect(byStatus.body.data.map((x: { name: string }) => x.name)).toEqual([`${marker} Two`]);
    const paged = await t.get(`/api/v1/admin/tenants/?search=${marker}&per_page=2&page=2`);
    expect(paged.body.pagination).toEqual({ page: 2, per_page: 2, total_items: 3, total_pages: 2 });
    expect(paged.body.data).toHaveLength(1);
    const unknownPartner = await t.get('/api/v1/admin/tenants/?partner_id=whatever');
    expect(unknownPartner.body.data).toEqual([]);
  });

  it('counts only live users', async () => {
    const tenant = await createTenant(t);
    await insertUser(t, tenant.id);
    await insertUser(t, tenant.id);
    await insertUser(t, tenant.id, { deleted: true });
    const response = await t.get(`/api/v1/admin/tenants/${tenant.id}`);
    expect(response.body.data.user_count).toBe(2);
  });
});

describe('PATCH /api/v1/admin/tenants/{tenant_id}', () => {
  it('merges settings one level deep and branding by key', async () => {
    const tenant = await createTenant(t, {
      settings: {
        mfa_required: true,
        session_timeout: 60,
        password_policy: { min_length: 20, require_symbol: true },
      },
      branding: { display_name: 'Before', primary_color: '#111111' },
    });
    const response = await t.patch(`/api/v1/admin/tenants/${tenant.id}`, {
      settings: { session_timeout: 120, password_policy: { min_length: 14 } },
      branding: { primary_color: '#222222' },
    });
    expect(response.status).toBe(200);
    const { settings, branding } = response.body.data;
    expect(settings.mfa_required).toBe(true);
    expect(settings.session_timeout).toBe(120);
    // password_policy was sent whole, so it replaced the old one (require_symbol is back to its default).
    expect(settings.password_policy).toMatchObject({ min_length: 14, require_symbol: false });
    expect(branding).toEqual({ display_name: 'Before', primary_color: '#222222' });
  });

  it('renames, changes slug and status, moves to another partner, and audits before/after', async () => {
    const tenant = await createTenant(t);
    const partner = await createPartner(t);
    const response = await t.patch(`/api/v1/admin/tenants/${tenant.id}`, {
      name: 'Renamed',
      slug: 'renamed-tenant',
      status: 'SUSPENDED',
      partner_id: partner.id,
      contact_email: null,
    });
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({
      name: 'Renamed',
      slug: 'renamed-tenant',
      status: 'SUSPENDED',
      partner_id: partner.id,
      contact_email: null,
    });
    const event = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', tenant.id)
      .where('action', '=', 'tenant.updated')
      .executeTakeFirstOrThrow();
    expect(event.before).toMatchObject({
      name: tenant.name,
      slug: tenant.slug,
      status: 'ACTIVE',
      partner_id: tenant.partner_id,
    });
    expect(event.after).toMatchObject({
      name: 'Renamed',
      slug: 'renamed-tenant',
      status: 'SUSPENDED',
      partner_id: partner.id,
    });
    expect(event.partner_id).toBe(partner.id);
  });

  it('refuses a move into a full partner (409) and to a missing partner (404), changing nothing', async () => {
    const full = await createPartner(t, { max_tenants: 1 });
    await createTenant(t, { partner_id: full.id });
    const tenant = await createTenant(t);
    const refused = await t.patch(`/api/v1/admin/tenants/${tenant.id}`, {
      name: 'Should not stick',
      partner_id: full.id,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('LIMIT_EXCEEDED');
    const missing = await t.patch(`/api/v1/admin/tenants/${tenant.id}`, {
      name: 'Should not stick',
      partner_id: 'prt_00000000000000000000',
    });
    expect(missing.status).toBe(404);
    const read = await t.get(`/api/v1/admin/tenants/${tenant.id}`);
    expect(read.body.data.name).toBe(tenant.name);
    expect(await auditActions(tenant.id)).toEqual(['tenant.created']);
  });

  it('answers 404 for unknown, deleted and wrong-shape ids; 422 for bad values', async () => {
    const deleted = await createTenant(t);
    await t.delete(`/api/v1/admin/tenants/${deleted.id}`);
    for (const id of [deleted.id, 'tnt_00000000000000000000', 'tnt_short', '..%2F..']) {
      const response = await t.patch(`/api/v1/admin/tenants/${id}`, { name: 'x' });
      expect(response.status, id).toBe(404);
    }
    const tenant = await createTenant(t);
    const invalid = await t.patch(`/api/v1/admin/tenants/${tenant.id}`, {
      settings: { session_timeout: 'long' },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.detail[0]).toMatchObject({
      loc: ['body', 'settings', 'session_timeout'],
      type: 'int_type',
    });
  });

  it('protects the platform tenant from suspension, moves and deletion', async () => {
    const platform = (await t.get('/api/v1/admin/tenants/?search=platform')).body.data.find(
      (x: { slug: string }) => x.slug === 'platform',
    );
    expect((await t.patch(`/api/v1/admin/tenants/${platform.id}`, { status: 'SUSPENDED' })).status).toBe(400);
    const deletion = await t.delete(`/api/v1/admin/tenants/${platform.id}`);
    expect(deletion.status).toBe(400);
    expect(deletion.body.code).toBe('PROTECTED_RESOURCE');
  });
});

describe('DELETE /api/v1/admin/tenants/{tenant_id}', () => {
  it('soft-deletes: 204, then 404 everywhere, row kept, audit written', async () => {
    const tenant = await createTenant(t);
    const response = await t.delete(`/api/v1/admin/tenants/${tenant.id}`);
    expect(response.status).toBe(204);
    expect((await t.get(`/api/v1/admin/tenants/${tenant.id}`)).status).toBe(404);
    expect((await t.delete(`/api/v1/admin/tenants/${tenant.id}`)).status).toBe(404);
    const list = await t.get(`/api/v1/admin/tenants/?search=${tenant.slug}`);
    expect(list.body.data).toEqual([]);
    const row = await t.database.db
      .selectFrom('tenants')
      .select('deleted_at')
      .where('id', '=', tenant.id)
      .executeTakeFirst();
    expect(row?.deleted_at).toBeInstanceOf(Date);
    expect(await auditActions(tenant.id)).toEqual(['tenant.created', 'tenant.deleted']);
  });
});

describe('tenant counts', () => {
  it('stay exact through creates, soft deletes and OU deletes (maintained by triggers)', async () => {
    const tenant = await createTenant(t);
    const read = async () => (await t.get(`/api/v1/admin/tenants/${tenant.id}`)).body.data;
    const root = (await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Root' })).body.data;
    await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Child', parent_id: root.id });
    const group = (await t.post(`/api/v1/tenants/${tenant.id}/groups`, { name: 'G' })).body.data;
    const user = (
      await t.post(`/api/v1/tenants/${tenant.id}/users`, {
        email: 'count@example.com',
        send_welcome_email: false,
      })
    ).body.data;
    expect(await read()).toMatchObject({ user_count: 1, group_count: 1, ou_count: 2 });
    await t.delete(`/api/v1/tenants/${tenant.id}/users/${user.id}?confirm_email=count@example.com`);
    await t.delete(`/api/v1/tenants/${tenant.id}/groups/${group.id}`);
    await t.delete(`/api/v1/tenants/${tenant.id}/ous/${root.id}?strategy=CASCADE`);
    expect(await read()).toMatchObject({ user_count: 0, group_count: 0, ou_count: 0 });
  });
});

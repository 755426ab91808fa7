import { describe, expect, it } from 'vitest';
import { createPartner, createTenant } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

const t = useTestApp();

const auditRows = (resourceId: string) =>
  t.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .orderBy('created_at')
    .execute();

describe('POST /api/v1/admin/partners/', () => {
  it('creates a partner with a derived slug, limits and an audit event', async () => {
    const response = await t.request({
      method: 'POST',
      url: '/api/v1/admin/partners/',
      token: t.token,
      body: { name: 'Zürich Reseller AG', contact_email: 'ops@reseller.example', max_tenants: 3 },
      headers: { 'x-request-id': 'create-partner-1' },
    });
    expect(response.status).toBe(201);
    expect(response.body.data).toMatchObject({
      name: 'Zürich Reseller AG',
      slug: 'zurich-reseller-ag',
      status: 'ACTIVE',
      contact_email: 'ops@reseller.example',
      max_tenants: 3,
      max_users_per_tenant: null,
      tenant_count: 0,
      updated_at: null,
    });
    expect(response.body.data.id).toMatch(/^prt_[0-9a-z]{20}$/);
    const [event] = await auditRows(response.body.data.id);
    expect(event).toMatchObject({
      action: 'partner.created',
      resource_type: 'partner',
      actor_type: 'api',
      request_id: 'create-partner-1',
      result: 'SUCCESS',
    });
  });

  it('derives a different slug when the derived one is taken', async () => {
    const first = await createPartner(t, { name: 'Same Name' });
    const second = await createPartner(t, { name: 'Same Name' });
    expect(first.slug).toBe('same-name');
    expect(second.slug).toBe('same-name-2');
  });

  it('answers 409 SLUG_TAKEN for an explicit slug in use', async () => {
    await createPartner(t, { slug: 'taken-partner' });
    const response = await t.post('/api/v1/admin/partners/', { name: 'Other', slug: 'taken-partner' });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('SLUG_TAKEN');
  });

  it('validates the body with FastAPI-shaped 422s', async () => {
    const cases: [unknown, (string | number)[], string][] = [
      [{}, ['body', 'name'], 'missing'],
      [{ name: 'x', unknown_field: 1 }, ['body', 'unknown_field'], 'extra_forbidden'],
      [{ name: 'x', slug: 'Bad Slug' }, ['body', 'slug'], 'string_pattern_mismatch'],
      [{ name: 'x', slug: 'ab' }, ['body', 'slug'], 'string_pattern_mismatch'],
      [{ name: 'x', status: 'DELETED' }, ['body', 'status'], 'enum'],
      [{ name: 'x', contact_email: 'not-an-email' }, ['body', 'contact_email'], 'value_error'],
      [{ name: 'x', max_tenants: -1 }, ['body', 'max_tenants'], 'greater_than_equal'],
      [{ name: 'x', max_tenants: 'many' }, ['body', 'max_tenants'], 'int_type'],
      [{ name: '' }, ['body', 'name'], 'string_too_short'],
      [[], ['body'], 'model_attributes_type'],
    ];
    for (const [body, loc, type] of cases) {
      const response = await t.post('/api/v1/admin/partners/', body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.body.detail, JSON.stringify(body)).toContainEqual(
        expect.objectContaining({ loc, type }),
      );
    }
  });
});

describe('GET /api/v1/admin/partners/', () => {
  it('paginates, searches name and slug case-insensitively and filters by status', async () => {
    const marker = `pg${Date.now().toString(36)}`;
    for (let i = 0; i < 5; i++) await createPartner(t, { name: `${marker} Partner ${i}` });
    await createPartner(t, { name: `${marker} Suspended`, status: 'SUSPENDED' });

    const page = await t.get(`/api/v1/admin/partners/?search=${marker.toUpperCase()}&per_page=2&page=2`);
    expect(page.status).toBe(200);
    expect(page.body.pagination).toEqual({ page: 2, per_page: 2, total_items: 6, total_pages: 3 });
    expect(page.body.data).toHaveLength(2);

    const past = await t.get(`/api/v1/admin/partners/?search=${marker}&page=9`);
    expect(past.body.data).toEqual([]);
    expect(past.body.pagination.total_items).toBe(6);

    const suspended = await t.get(`/api/v1/admin/partners/?search=${marker}&status=SUSPENDED`);
    expect(suspended.body.data.map((p: { name: string }) => p.name)).toEqual([`${marker} Suspended`]);

    const none = await t.get('/api/v1/admin/partners/?search=zz-no-match-zz');
    expect(none.body.pagination).toEqual({ page: 1, per_page: 20, total_items: 0, total_pages: 0 });
  });

  it('treats LIKE wildcards in search as plain characters', async () => {
    const response = await t.get('/api/v1/admin/partners/?search=%25');
    expect(response.body.data).toEqual([]);
  });

  it('answers 422 for bad pagination and status values', async () => {
    for (const [query, loc] of [
      ['page=0', ['query', 'page']],
      ['per_page=101', ['query', 'per_page']],
      ['per_page=0', ['query', 'per_page']],
      ['page=abc', ['query', 'page']],
      ['status=GONE', ['query', 'status']],
    ] as const) {
      const response = await t.get(`/api/v1/admin/partners/?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body.detail[0].loc).toEqual(loc);
    }
  });
});

describe('GET, PATCH, DELETE /api/v1/admin/partners/{partner_id}', () => {
  it('reads, updates (with audit before/after) and soft-deletes a partner', async () => {
    const partner = await createPartner(t, { name: 'Lifecycle' });
    const read = await t.get(`/api/v1/admin/partners/${partner.id}`);
    expect(read.body.data.name).toBe('Lifecycle');

    const updated = await t.patch(`/api/v1/admin/partners/${partner.id}`, {
      name: 'Lifecycle 2',
      max_tenants: null,
      status: 'SUSPENDED',
    });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({ name: 'Lifecycle 2', max_tenants: null, status: 'SUSPENDED' });
    expect(updated.body.data.updated_at).not.toBeNull();

    const deleted = await t.delete(`/api/v1/admin/partners/${partner.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expect((await t.get(`/api/v1/admin/partners/${partner.id}`)).status).toBe(404);
    expect((await t.delete(`/api/v1/admin/partners/${partner.id}`)).status).toBe(404);

    const events = await auditRows(partner.id);
    expect(events.map((event) => event.action)).toEqual([
      'partner.created',
      'partner.updated',
      'partner.deleted',
    ]);
    expect(events[1]?.before).toMatchObject({ name: 'Lifecycle', status: 'ACTIVE' });
    expect(events[1]?.after).toMatchObject({ name: 'Lifecycle 2', status: 'SUSPENDED' });
  });

  it('frees the slug of a deleted partner', async () => {
    const partner = await createPartner(t, { slug: 'reusable-slug' });
    await t.delete(`/api/v1/admin/partners/${partner.id}`);
    const again = await createPartner(t, { slug: 'reusable-slug' });
    expect(again.slug).toBe('reusable-slug');
  });

  it('refuses to delete a partner that still has tenants (409)', async () => {
    const partner = await createPartner(t);
    await createTenant(t, { partner_id: partner.id });
    const response = await t.delete(`/api/v1/admin/partners/${partner.id}`);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('PARTNER_NOT_EMPTY');
  });

  it('protects the platform partner', async () => {
    const platform = (await t.get('/api/v1/admin/partners/?search=platform')).body.data.find(
      (p: { slug: string }) => p.slug === 'platform',
    );
    const response = await t.delete(`/api/v1/admin/partners/${platform.id}`);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('PROTECTED_RESOURCE');
    const suspend = await t.patch(`/api/v1/admin/partners/${platform.id}`, { status: 'SUSPENDED' });
    expect(suspend.status).toBe(400);
  });

  it('answers 404 for unknown and wrong-shape ids, 422 for a bad PATCH body', async () => {
    for (const id of ['prt_00000000000000000000', 'nonsense', 'tnt_00000000000000000000']) {
      expect((await t.get(`/api/v1/admin/partners/${id}`)).status).toBe(404);
      expect((await t.patch(`/api/v1/admin/partners/${id}`, { name: 'x' })).status).toBe(404);
    }
    const partner = await createPartner(t);
    const response = await t.patch(`/api/v1/admin/partners/${partner.id}`, { name: null, slug: 'UPPER' });
    expect(response.status).toBe(422);
    expect(response.body.detail.map((d: { loc: string[] }) => d.loc.join('.')).sort()).toEqual([
      'body.name',
      'body.slug',
    ]);
  });

  it('answers 409 when a PATCH takes a slug in use', async () => {
    await createPartner(t, { slug: 'patch-target' });
    const partner = await createPartner(t);
    const response = await t.patch(`/api/v1/admin/partners/${partner.id}`, { slug: 'patch-target' });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('SLUG_TAKEN');
  });
});

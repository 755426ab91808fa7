import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES } from '../src/platform/events/catalogue.js';
import { tenantIssuer } from '../src/platform/issuers.js';
import { signAccessToken } from '../src/protocols/oauth/access-token.js';
import {
  adminUserToken,
  createPartner,
  createTenant,
  insertApplication,
  insertUser,
  type Partner,
  type Tenant,
} from './helpers/factories.js';
import { lastMailTo, linkIn } from './helpers/mail.js';
import { TEST_CLIENT_ID, useTestApp } from './helpers/test-app.js';

// Issue 14: the audit log API (read-only), its export, its retention purge, and no secrets in it.

const t = useTestApp();
const BASE = '/api/v1/admin/audit';
type Json = Record<string, unknown>;

let partnerP: Partner;
let partnerQ: Partner;

beforeAll(async () => {
  partnerP = await createPartner(t);
  partnerQ = await createPartner(t);
});

interface Seed {
  tenantId?: string | null;
  partnerId?: string | null;
  actorType?: string;
  actorId?: string | null;
  action?: string;
  resourceType?: string;
  resourceId?: string | null;
  before?: Json | null;
  after?: Json | null;
  result?: 'SUCCESS' | 'FAILURE';
  ipAddress?: string | null;
  at?: Date;
}

/** Inserts audit rows directly (as the unit of work writes them); returns their ids in order. */
async function seed(rows: Seed[]): Promise<string[]> {
  const ids = rows.map(() => newId('event'));
  await t.database.db
    .insertInto('audit_events')
    .values(
      rows.map((row, index) => ({
        id: ids[index] as string,
        tenant_id: row.tenantId ?? null,
        partner_id: row.partnerId ?? null,
        actor_type: row.actorType ?? 'api',
        actor_id: row.actorId ?? null,
        action: row.action ?? 'user.updated',
        resource_type: row.resourceType ?? 'user',
        resource_id: row.resourceId ?? null,
        before: row.before ? JSON.stringify(row.before) : undefined,
        after: row.after ? JSON.stringify(row.after) : undefined,
        result: row.result ?? 'SUCCESS',
        ip_address: row.ipAddress ?? null,
        request_id: null,
        ...(row.at ? { created_at: row.at } : {}),
      })),
    )
    .execute();
  return ids;
}

/** A tenant whose audit log is empty (its tenant.created entry removed), so that a test sees only its own rows. */
async function freshTenant(fields: Json = {}): Promise<Tenant> {
  const tenant = await createTenant(t, fields);
  await t.database.db.deleteFrom('audit_events').where('tenant_id', '=', tenant.id).execute();
  return tenant;
}

/** An export's status, headers and text (the test app would parse NDJSON as one JSON document). */
async function exportOf(query: string, token: string = t.token) {
  const response = await t.app.inject({
    method: 'GET',
    url: `${BASE}/export?${query}`,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.statusCode, headers: response.headers, text: response.body };
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

async function list(query: string, token?: string) {
  const response = await t.get(`${BASE}/?${query}`, token ? { token } : {});
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { data: Json[]; pagination: Json; next_cursor: string | null };
}
const idsOf = (body: { data: Json[] }) => body.data.map((entry) => entry.id);

describe('GET /api/v1/admin/audit/', () => {
  it('lists a change made through the API with its actor, address and request id', async () => {
    const tenant = await createTenant(t, { partner_id: partnerP.id });
    const created = await t.post(`/api/v1/tenants/${tenant.id}/users`, {
      email: 'audit-ada@example.com',
      send_welcome_email: false,
    });
    expect(created.status).toBe(201);
    const body = await list(`tenant_id=${tenant.id}&action=user.created`);
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({
      tenant_id: tenant.id,
      partner_id: partnerP.id,
      actor_type: 'api',
      actor_id: TEST_CLIENT_ID,
      actor_email: null,
      action: 'user.created',
      resource_type: 'user',
      resource_id: created.body.data.id,
      result: 'SUCCESS',
      ip_address: '127.0.0.1',
      request_id: created.headers['x-request-id'],
    });
    expect(body.pagination).toEqual({ page: 1, per_page: 20, total_items: 1, total_pages: 1 });
    expect(body.next_cursor).toBeNull();
  });

  it('lists newest first, then by id descending when times are equal', async () => {
    const tenant = await freshTenant();
    const same = minutesAgo(5);
    const ids = await seed([
      { tenantId: tenant.id, at: minutesAgo(10) },
      { tenantId: tenant.id, at: same },
      { tenantId: tenant.id, at: same },
      { tenantId: tenant.id, at: minutesAgo(1) },
    ]);
    const tied = [ids[1], ids[2]].sort().reverse();
    expect(idsOf(await list(`tenant_id=${tenant.id}`))).toEqual([ids[3], ...tied, ids[0]]);
  });

  it('filters by every field, each alone and together', async () => {
    const tenant = await freshTenant({ partner_id: partnerQ.id });
    const actor = newId('user');
    const [a, b, c, d] = await seed([
      {
        tenantId: tenant.id,
        partnerId: partnerQ.id,
        action: 'group.created',
        resourceType: 'group',
        resourceId: 'grp_aaaaaaaaaaaaaaaaaaaa',
        actorId: actor,
        ipAddress: '198.51.100.1',
        at: minutesAgo(50),
      },
      {
        tenantId: tenant.id,
        partnerId: partnerQ.id,
        action: 'user.login_failed',
        result: 'FAILURE',
        resourceId: 'usr_bbbbbbbbbbbbbbbbbbbb',
        ipAddress: '198.51.100.2',
        at: minutesAgo(40),
      },
      {
        tenantId: tenant.id,
        partnerId: partnerQ.id,
        action: 'group.created',
        resourceType: 'group',
        resourceId: 'grp_cccccccccccccccccccc',
        actorId: actor,
        at: minutesAgo(30),
      },
      { tenantId: tenant.id, partnerId: partnerQ.id, action: 'user.updated', at: minutesAgo(20) },
    ]);
    const q = `tenant_id=${tenant.id}`;
    const cases: [string, (string | undefined)[]][] = [
      ['action=group.created', [c, a]],
      ['resource_type=group', [c, a]],
      ['resource_id=grp_aaaaaaaaaaaaaaaaaaaa', [a]],
      [`actor_id=${actor}`, [c, a]],
      ['result=FAILURE', [b]],
      ['result=SUCCESS', [d, c, a]],
      ['ip_address=198.51.100.2', [b]],
      [`start_time=${minutesAgo(45).toISOString()}`, [d, c, b]],
      [`end_time=${minutesAgo(35).toISOString()}`, [b, a]],
      [`start_time=${minutesAgo(45).toISOString()}&end_time=${minutesAgo(25).toISOString()}`, [c, b]],
      [`action=group.created&actor_id=${actor}&resource_id=grp_cccccccccccccccccccc`, [c]],
      [`partner_id=${partnerQ.id}&action=user.updated`, [d]],
      [`partner_id=${partnerP.id}`, []],
      ['action=no.such_action', []],
    ];
    for (const [filter, expected] of cases) {
      expect(idsOf(await list(`${q}&${filter}`)), filter).toEqual(expected);
    }
  });

  it('resolves actor_email to the actors with that address now (any case), and shows it', async () => {
    const tenant = await freshTenant();
    const user = await insertUser(t, tenant.id, { email: 'Audit.Actor@Example.com' });
    const other = await insertUser(t, tenant.id);
    const [mine] = await seed([
      { tenantId: tenant.id, actorType: 'admin', actorId: user.id },
      { tenantId: tenant.id, actorType: 'admin', actorId: other.id },
      { tenantId: tenant.id, actorType: 'api', actorId: TEST_CLIENT_ID },
    ]);
    const body = await list(`tenant_id=${tenant.id}&actor_email=audit.actor@EXAMPLE.com`);
    expect(idsOf(body)).toEqual([mine]);
    expect(body.data[0]).toMatchObject({ actor_id: user.id, actor_email: 'Audit.Actor@Example.com' });
    expect(idsOf(await list(`tenant_id=${tenant.id}&actor_email=nobody@example.com`))).toEqual([]);
  });

  it('pages with page/per_page and with the keyset cursor, which walk the same entries', async () => {
    const tenant = await freshTenant();
    const same = minutesAgo(30);
    // 25 entries, several sharing one created_at (the cursor must order ties by id).
    const ids = await seed(
      Array.from({ length: 25 }, (_, index) => ({
        tenantId: tenant.id,
        at: index % 3 === 0 ? same : minutesAgo(60 - index),
      })),
    );
    const all = idsOf(await list(`tenant_id=${tenant.id}&per_page=100`));
    expect(new Set(all)).toEqual(new Set(ids));

    const walked: unknown[] = [];
    const pages: Json[] = [];
    let cursor: string | null = null;
    do {
      const body = await list(
        `tenant_id=${tenant.id}&per_page=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      walked.push(...idsOf(body));
      pages.push(body.pagination);
      cursor = body.next_cursor;
    } while (cursor);
    expect(walked).toEqual(all);
    expect(pages.map((page) => page.page)).toEqual([1, 2, 3]);
    expect(pages[2]).toEqual({ page: 3, per_page: 10, total_items: 25, total_pages: 3 });

    const second = await list(`tenant_id=${tenant.id}&per_page=10&page=2`);
    expect(idsOf(second)).toEqual(all.slice(10, 20));
    expect(second.next_cursor).toEqual(expect.any(String));
    const third = await list(
      `tenant_id=${tenant.id}&per_page=10&cursor=${encodeURIComponent(second.next_cursor as string)}`,
    );
    expect(idsOf(third)).toEqual(all.slice(20));
    expect(third.next_cursor).toBeNull();
  });

  it('does not show entries written after a cursor was handed out on the pages after it', async () => {
    const tenant = await freshTenant();
    await seed(Array.from({ length: 3 }, (_, i) => ({ tenantId: tenant.id, at: minutesAgo(10 + i) })));
    const first = await list(`tenant_id=${tenant.id}&per_page=2`);
    const [newer] = await seed([{ tenantId: tenant.id }]);
    const next = await list(
      `tenant_id=${tenant.id}&per_page=2&cursor=${encodeURIComponent(first.next_cursor as string)}`,
    );
    expect(idsOf(next)).toHaveLength(1);
    expect(idsOf(next)).not.toContain(newer);
  });

  it('answers 422 naming the parameter for a bad cursor, a bad time and a window ending before it starts', async () => {
    const forged = Buffer.from(JSON.stringify(['yesterday', 'evt_x', 2])).toString('base64url');
    for (const cursor of ['not-a-cursor!', forged, 'AAAA']) {
      const response = await t.get(`${BASE}/?cursor=${encodeURIComponent(cursor)}`);
      expect(response.status, cursor).toBe(422);
      expect(response.body.detail[0].loc).toEqual(['query', 'cursor']);
    }
    const badTime = await t.get(`${BASE}/?start_time=yesterday`);
    expect(badTime.status).toBe(422);
    expect(badTime.body.detail[0].loc).toEqual(['query', 'start_time']);
    const backwards = await t.get(`${BASE}/?start_time=2026-02-01T00:00:00Z&end_time=2026-01-01T00:00:00Z`);
    expect(backwards.status).toBe(422);
    expect(backwards.body.detail[0].loc).toEqual(['query', 'end_time']);
    const badResult = await t.get(`${BASE}/?result=MAYBE`);
    expect(badResult.status).toBe(422);
    expect(badResult.body.detail[0].loc).toEqual(['query', 'result']);
  });
});

describe('role scoping', () => {
  let t1: Tenant;
  let t2: Tenant;
  let t3: Tenant;
  let entries: Record<string, string>;

  beforeAll(async () => {
    const p = await createPartner(t);
    const q = await createPartner(t);
    t1 = await createTenant(t, { partner_id: p.id });
    t2 = await createTenant(t, { partner_id: p.id });
    t3 = await createTenant(t, { partner_id: q.id });
    const [e1, e2, e3, ep, eq, platform] = await seed([
      { tenantId: t1.id, partnerId: p.id },
      { tenantId: t2.id, partnerId: p.id },
      { tenantId: t3.id, partnerId: q.id },
      { partnerId: p.id, action: 'partner.updated', resourceType: 'partner', resourceId: p.id },
      { partnerId: q.id, action: 'partner.updated', resourceType: 'partner', resourceId: q.id },
      { action: 'partner.created', resourceType: 'partner' },
    ]);
    entries = { e1, e2, e3, ep, eq, platform } as Record<string, string>;
  });

  /** The seeded entries a caller sees in the list (all its pages), by name. */
  async function seen(token: string, query = '') {
    const names = new Map(Object.entries(entries).map(([name, id]) => [id, name]));
    const found: string[] = [];
    let cursor: string | null = null;
    do {
      const body = await list(
        `per_page=100${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        token,
      );
      for (const id of idsOf(body))
        if (names.has(id as string)) found.push(names.get(id as string) as string);
      cursor = body.next_cursor;
    } while (cursor);
    return found.sort();
  }

  it('a super_admin sees every entry', async () => {
    expect(await seen(t.token)).toEqual(['e1', 'e2', 'e3', 'ep', 'eq', 'platform']);
  });

  it('a partner_admin sees its partner’s entries and its tenants’, and nothing else even when filtering', async () => {
    const { token } = await adminUserToken(t, { role: 'partner_admin', tenant: t1 });
    expect(await seen(token)).toEqual(['e1', 'e2', 'ep']);
    expect(await seen(token, `&tenant_id=${t3.id}`)).toEqual([]);
    expect(await seen(token, `&partner_id=${t3.partner_id}`)).toEqual([]);
    expect(await seen(token, `&tenant_id=${t2.id}`)).toEqual(['e2']);
    expect((await t.get(`${BASE}/${entries.e2}`, { token })).status).toBe(200);
    for (const name of ['e3', 'eq', 'platform']) {
      const response = await t.get(`${BASE}/${entries[name]}`, { token });
      expect(response.status, name).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    }
  });

  it('a tenant_admin sees its tenant’s entries only', async () => {
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant: t1 });
    expect(await seen(token)).toEqual(['e1']);
    expect(await seen(token, `&tenant_id=${t2.id}`)).toEqual([]);
    expect(await seen(token, `&partner_id=${t1.partner_id}`)).toEqual(['e1']);
    const own = await t.get(`${BASE}/${entries.e1}`, { token });
    expect(own.status).toBe(200);
    expect(own.body.data).toMatchObject({ id: entries.e1, tenant_id: t1.id });
    for (const name of ['e2', 'e3', 'ep', 'platform']) {
      expect((await t.get(`${BASE}/${entries[name]}`, { token })).status, name).toBe(404);
    }
  });

  it('an export is scoped the same way', async () => {
    const { token } = await adminUserToken(t, { role: 'tenant_admin', tenant: t2 });
    const response = await exportOf('format=ndjson', token);
    expect(response.status).toBe(200);
    const ids = response.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line).id);
    expect(ids).toContain(entries.e2);
    for (const name of ['e1', 'e3', 'ep', 'eq', 'platform']) expect(ids).not.toContain(entries[name]);
  });

  it('a token without admin rights is refused', async () => {
    const { token } = await adminUserToken(t, { role: null, tenant: t1 });
    expect((await t.get(`${BASE}/`, { token })).status).toBe(403);
    expect((await t.get(`${BASE}/`, { token: null })).status).toBe(401);
  });
});

describe('GET /api/v1/admin/audit/{entry_id}', () => {
  it('answers one entry, and 404 for an unknown id or one of another shape', async () => {
    const tenant = await createTenant(t);
    const [id] = await seed([{ tenantId: tenant.id, after: { name: 'x' }, before: { name: 'y' } }]);
    const response = await t.get(`${BASE}/${id}`);
    expect(response.status).toBe(200);
    expect(response.body.data).toMatchObject({
      id,
      tenant_id: tenant.id,
      before: { name: 'y' },
      after: { name: 'x' },
    });
    for (const unknown of [newId('event'), 'evt_short', 'usr_0123456789abcdefghij']) {
      const missing = await t.get(`${BASE}/${unknown}`);
      expect(missing.status, unknown).toBe(404);
      expect(missing.body.code).toBe('NOT_FOUND');
    }
  });

  it('has no route that changes or deletes an entry (the log is append-only)', async () => {
    const tenant = await createTenant(t);
    const [id] = await seed([{ tenantId: tenant.id }]);
    for (const method of ['DELETE', 'PATCH', 'PUT', 'POST'] as const) {
      const response = await t.request({ method, url: `${BASE}/${id}`, token: t.token, body: {} });
      expect([404, 405], method).toContain(response.status);
    }
    expect((await t.get(`${BASE}/${id}`)).status).toBe(200);
  });
});

/** The files that list actions rather than write them: the vocabulary and the event data schemas. */
const LISTS = [
  join('platform', 'events', 'catalogue.ts'),
  join('modules', 'events', 'event-data-schemas.ts'),
];

/** Every file under src/ except the audit module's own and the lists. */
function sourceText(): string {
  const texts: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (!path.endsWith(join('modules', 'audit'))) walk(path);
      } else if (path.endsWith('.ts') && !LISTS.some((list) => path.endsWith(list))) {
        texts.push(readFileSync(path, 'utf8'));
      }
    }
  };
  walk('src');
  return texts.join('\n');
}

describe('the vocabularies', () => {
  it('lists the actions with their resource types and kinds', async () => {
    const response = await t.get(`${BASE}/actions`);
    expect(response.status).toBe(200);
    const actions = response.body.data as Json[];
    expect(actions).toContainEqual(
      expect.objectContaining({
        action: 'user.created',
        resource_type: 'user',
        kind: 'change',
        domain_event: true,
      }),
    );
    expect(actions).toContainEqual(expect.objectContaining({ action: 'token.issued', domain_event: false }));
    expect(actions).toContainEqual(expect.objectContaining({ action: 'user.login_failed', kind: 'refusal' }));
    const types = await t.get(`${BASE}/resource-types`);
    expect(types.status).toBe(200);
    expect((types.body.data as Json[]).map((type) => type.resource_type)).toEqual(
      expect.arrayContaining(['user', 'group', 'application', 'tenant', 'partner']),
    );
  });

  it('names every action and resource type the code writes, and none it does not', () => {
    const source = sourceText();
    const prefixes = [...new Set(Object.keys(AUDIT_ACTIONS).map((action) => action.split('.')[0]))];
    const pattern = new RegExp(`['\`](?:${prefixes.join('|')})\\.[a-z_]+['\`]`, 'g');
    const written = new Set([...source.matchAll(pattern)].map((match) => match[0].slice(1, -1)));
    // The type of a webhook endpoint's test ping: an event type, not an audit action.
    written.delete('webhook.test');
    expect([...written].filter((action) => !(action in AUDIT_ACTIONS)).sort()).toEqual([]);
    expect(Object.keys(AUDIT_ACTIONS).filter((action) => !written.has(action))).toEqual([]);
    const resourceTypes = new Set(
      [...source.matchAll(/resourceType: '([a-z_]+)'/g)].map((match) => match[1] as string),
    );
    expect([...resourceTypes].sort()).toEqual(Object.keys(AUDIT_RESOURCE_TYPES).sort());
    for (const info of Object.values(AUDIT_ACTIONS))
      expect(AUDIT_RESOURCE_TYPES).toHaveProperty(info.resourceType);
  });
});

/** RFC 4180 records of a CSV text (quoted fields with "" and line breaks, CRLF records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += char;
  }
  expect(field).toBe('');
  expect(record).toEqual([]);
  return records;
}

describe('GET /api/v1/admin/audit/export', () => {
  it('streams every matching entry as NDJSON across batches, newest first, as an attachment', async () => {
    const tenant = await freshTenant();
    const count = 2345;
    const base = Date.now() - 3_600_000;
    const ids = await seed(
      Array.from({ length: count }, (_, index) => ({
        tenantId: tenant.id,
        action: index % 2 ? 'user.updated' : 'group.updated',
        at: new Date(base + Math.floor(index / 3) * 1000),
      })),
    );
    const response = await exportOf(`tenant_id=${tenant.id}`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="scaikey-audit-\d{8}T\d{6}Z\.ndjson"$/,
    );
    const lines = response.text.split('\n');
    expect(lines.pop()).toBe('');
    const entries = lines.map((line) => JSON.parse(line) as Json);
    expect(entries).toHaveLength(count);
    expect(new Set(entries.map((entry) => entry.id))).toEqual(new Set(ids));
    const order = entries.map((entry) => `${entry.created_at} ${entry.id}`);
    expect(order).toEqual([...order].sort().reverse());
    // The list's order is the export's.
    const firstPage = await list(`tenant_id=${tenant.id}&per_page=100`);
    expect(idsOf(firstPage)).toEqual(entries.slice(0, 100).map((entry) => entry.id));

    const filtered = await exportOf(`tenant_id=${tenant.id}&action=group.updated`);
    expect(filtered.text.split('\n').filter(Boolean)).toHaveLength(Math.ceil(count / 2));
  });

  it('writes CSV that parses back to the same values, quotes, commas, line breaks and all', async () => {
    const tenant = await freshTenant();
    const tricky = { name: 'Ada "the first", Lovelace\nline two', note: 'a,b' };
    const [id, formula] = await seed([
      { tenantId: tenant.id, resourceId: 'plain', after: tricky, before: null, at: minutesAgo(2) },
      {
        tenantId: tenant.id,
        resourceId: '=HYPERLINK("http://x")',
        ipAddress: '203.0.113.9',
        at: minutesAgo(1),
      },
    ]);
    const response = await exportOf(`format=csv&tenant_id=${tenant.id}`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/filename="scaikey-audit-.*\.csv"/);
    const [header, ...rows] = parseCsv(response.text);
    expect(header).toEqual([
      'id',
      'created_at',
      'tenant_id',
      'partner_id',
      'actor_type',
      'actor_id',
      'actor_email',
      'action',
      'resource_type',
      'resource_id',
      'result',
      'ip_address',
      'request_id',
      'before',
      'after',
    ]);
    expect(rows).toHaveLength(2);
    const records = rows.map((row) =>
      Object.fromEntries((header as string[]).map((name, i) => [name, row[i]])),
    );
    expect(records[0]).toMatchObject({
      id: formula,
      resource_id: `'=HYPERLINK("http://x")`,
      ip_address: '203.0.113.9',
    });
    expect(records[1]).toMatchObject({
      id,
      tenant_id: tenant.id,
      partner_id: '',
      before: '',
      resource_id: 'plain',
    });
    expect(JSON.parse(records[1]?.after as string)).toEqual(tricky);
  });

  it('answers 422 for an unknown format and checks the filters before streaming', async () => {
    const format = await t.get(`${BASE}/export?format=xml`);
    expect(format.status).toBe(422);
    expect(format.body.detail[0].loc).toEqual(['query', 'format']);
    const window = await t.get(
      `${BASE}/export?start_time=2026-02-01T00:00:00Z&end_time=2026-01-01T00:00:00Z`,
    );
    expect(window.status).toBe(422);
    expect(window.body.detail[0].loc).toEqual(['query', 'end_time']);
  });
});

describe('retention', () => {
  it('purges each tenant’s entries older than its audit_retention_days, and platform entries by the config', async () => {
    const short = await createTenant(t, { settings: { audit_retention_days: 30 } });
    const forever = await createTenant(t, { settings: { audit_retention_days: 0 } });
    const standard = await createTenant(t);
    expect(standard).toMatchObject({ settings: expect.objectContaining({ audit_retention_days: 365 }) });
    const [shortOld, shortNew, foreverOld, standardOld, standardKept, platformOld, platformKept] = await seed(
      [
        { tenantId: short.id, at: daysAgo(31) },
        { tenantId: short.id, at: daysAgo(29) },
        { tenantId: forever.id, at: daysAgo(5000) },
        { tenantId: standard.id, at: daysAgo(366) },
        { tenantId: standard.id, at: daysAgo(300) },
        { action: 'partner.created', resourceType: 'partner', at: daysAgo(366) },
        { action: 'partner.created', resourceType: 'partner', at: daysAgo(364) },
      ],
    );
    const result = await t.app.scaikey.housekeeping.runAll(['audit-retention']);
    expect(result['audit-retention']).toBeGreaterThanOrEqual(3);
    const left = new Set(
      (
        await t.database.db
          .selectFrom('audit_events')
          .select('id')
          .where('id', 'in', [
            shortOld,
            shortNew,
            foreverOld,
            standardOld,
            standardKept,
            platformOld,
            platformKept,
          ] as string[])
          .execute()
      ).map((row) => row.id),
    );
    expect(left).toEqual(new Set([shortNew, foreverOld, standardKept, platformKept]));
  });

  it('deletes in batches until nothing old is left', async () => {
    const tenant = await freshTenant({ settings: { audit_retention_days: 1 } });
    await seed(Array.from({ length: 2500 }, () => ({ tenantId: tenant.id, at: daysAgo(2) })));
    const [kept] = await seed([{ tenantId: tenant.id }]);
    await t.app.scaikey.housekeeping.runAll(['audit-retention']);
    expect(idsOf(await list(`tenant_id=${tenant.id}&per_page=100`))).toEqual([kept]);
  });

  it('validates audit_retention_days as a tenant setting', async () => {
    for (const value of [-1, 36501, 'forever', 1.5]) {
      const response = await t.post('/api/v1/admin/tenants/', {
        name: 'Retention',
        settings: { audit_retention_days: value },
      });
      expect(response.status, String(value)).toBe(422);
      expect(response.body.detail[0].loc).toEqual(['body', 'settings', 'audit_retention_days']);
    }
    const tenant = await createTenant(t);
    const patched = await t.patch(`/api/v1/admin/tenants/${tenant.id}`, {
      settings: { audit_retention_days: 90 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data.settings.audit_retention_days).toBe(90);
  });
});

describe('no secrets in the audit log', () => {
  it('keeps passwords, hashes, client secrets, TOTP seeds, backup codes, link tokens and tokens out of every entry', async () => {
    const tenant = await createTenant(t, { partner_id: partnerP.id });
    const secrets: string[] = [];
    const base = `/api/v1/tenants/${tenant.id}`;
    const first = 'First-password-audit-1!';
    secrets.push(first);
    const user = await t.post(`${base}/users`, {
      email: 'secretive@example.com',
      password: first,
      send_welcome_email: false,
    });
    expect(user.status).toBe(201);
    const userId = user.body.data.id as string;

    const second = 'Second-password-audit-2!';
    secrets.push(second);
    const direct = await t.post(`/api/v1/admin/users/${userId}/reset-password`, {
      method: 'DIRECT',
      new_password: second,
    });
    expect(direct.status, JSON.stringify(direct.body)).toBe(200);

    const emailed = await t.post(`/api/v1/admin/users/${userId}/reset-password`, { method: 'EMAIL' });
    expect(emailed.status, JSON.stringify(emailed.body)).toBe(200);
    const mail = await lastMailTo(t, 'secretive@example.com');
    secrets.push(linkIn(mail?.text_body as string).token);

    // The user's own token, as the tenant's provider issues it (for the self-service routes).
    const console = await insertApplication(t, {
      scope: 'TENANT',
      partnerId: tenant.partner_id,
      tenantId: tenant.id,
      type: 'WEB',
      allowedScopes: ['openid'],
    });
    const userToken = signAccessToken(
      t.app.scaikey.keys,
      tenantIssuer(t.config.publicUrl, tenant.slug),
      {
        sub: userId,
        aud: console.id,
        client_id: console.id,
        scope: 'openid',
        tenant_id: tenant.id,
        partner_id: tenant.partner_id,
        role: null,
      },
      3600,
    );
    secrets.push(userToken);
    const third = 'Third-password-audit-3!';
    secrets.push(third);
    const changed = await t.post(
      '/api/v1/me/password',
      { current_password: second, new_password: third },
      { token: userToken },
    );
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);

    const enroll = await t.post('/api/v1/me/mfa/totp/enroll', { name: 'Phone' }, { token: userToken });
    expect(enroll.status, JSON.stringify(enroll.body)).toBe(200);
    const seed32 = enroll.body.data.secret as string;
    secrets.push(seed32);
    const confirmed = await t.post(
      '/api/v1/me/mfa/totp/confirm',
      { code: TOTP.generate({ secret: Secret.fromBase32(seed32) }) },
      { token: userToken },
    );
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    secrets.push(...(confirmed.body.data.backup_codes as string[]));

    const application = await t.post('/api/v1/admin/applications/', {
      name: 'Secretive app',
      application_type: 'WEB',
      scope: 'TENANT',
      tenant_id: tenant.id,
      redirect_uris: ['https://app.example.com/callback'],
    });
    expect(application.status).toBe(201);
    secrets.push(application.body.data.client_secret as string);
    const rotated = await t.post(`/api/v1/admin/applications/${application.body.data.id}/rotate-secret`);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    secrets.push(rotated.body.data.client_secret as string);
    secrets.push(await t.platformToken());

    const hashes = await t.database.db
      .selectFrom('users')
      .select(['password_hash', 'password_history'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    secrets.push(hashes.password_hash as string, ...(hashes.password_history as string[]));
    const clientHash = await t.database.db
      .selectFrom('applications')
      .selectAll()
      .where('id', '=', application.body.data.id)
      .executeTakeFirstOrThrow();
    for (const [column, value] of Object.entries(clientHash))
      if (column.includes('secret') && typeof value === 'string') secrets.push(value);

    expect(secrets.every((secret) => typeof secret === 'string' && secret.length >= 8)).toBe(true);
    const rows = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where((eb) => eb.or([eb('tenant_id', '=', tenant.id), eb('resource_id', '=', userId)]))
      .execute();
    const actions = new Set(rows.map((row) => row.action));
    for (const action of [
      'user.created',
      'user.password_changed',
      'user.password_reset_requested',
      'user.mfa_factor_added',
      'application.created',
      'application.secret_rotated',
    ])
      expect(actions, action).toContain(action);
    const text = JSON.stringify(rows);
    for (const secret of secrets)
      expect(text.includes(secret), `a secret of ${secret.length} characters`).toBe(false);
    expect(text).not.toMatch(/\$argon2|password_hash|password_history|secret_digest|secret_hash/);
    // And through the API, the export included.
    const exported = await exportOf(`tenant_id=${tenant.id}`);
    expect(exported.text).toContain('user.password_changed');
    for (const secret of secrets) expect(exported.text.includes(secret)).toBe(false);
  });
});

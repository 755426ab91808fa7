/**
 * The tenant isolation sweep (issue 12): every route registered at startup is walked with the
 * admins of other tenants, and every management route must answer them as if A's objects did not
 * exist (docs/security.md: "Anything outside a caller's reach answers 404"). The routes come from
 * the app itself (`app.scaikey.routes`, collected by an onRoute hook in src/app.ts), never from a
 * list in this file: a route added later is swept from its first line, and the sweep fails when it
 * cannot fill one of its path parameters or does not know what kind of route it is.
 *
 * Rules, by kind of route (never per route):
 * - Public routes are not swept: the hosted OAuth / OpenID endpoints and sign-in pages
 *   (`/api/v1/auth/…`, `/api/v1/platform/…`), health (`/healthz`, `/readyz`), the home page `/`
 *   and the API documentation (`/openapi.json`, `/docs…`). They take no bearer token and act on
 *   no tenant's directory by id.
 * - Every other route must be a management route: tenant routes (`/api/v1/tenants/:tenant_id/…`)
 *   or admin routes (`/api/v1/admin/…`). Anything else fails the sweep until a rule is added here.
 * - Resource kinds only a super_admin may touch at all answer 403 whatever the target
 *   (docs/security.md: "Partners, tenant writes and admin role assignments are super_admin only";
 *   docs/api-decisions.md: "Writes a caller may never make answer 403 whatever the target"). For
 *   everything else, a path naming A's objects answers 404.
 * - Admin GET routes without an object id are lists: 200, and none of A's ids or emails in them,
 *   also when their filters name A's objects (then 404 is allowed too).
 * - Tenant routes are also swept with the caller's own tenant in the path and A's objects
 *   everywhere else (the per-object tenant predicate, not only the tenant check): 404 when the
 *   path names an object of A; lists 200 without A's ids; creates may succeed, but what they
 *   answer refers to none of A's objects.
 * - No response of any status to these callers carries an id or email of A that the request did
 *   not name, and after the sweep every row of A's tenant (and of its partner) is as it was.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../src/app.js';
import {
  adminUserToken,
  applicationToken,
  createPartner,
  createTenant,
  insertApplication,
} from './helpers/factories.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

type Tenant = Awaited<ReturnType<typeof createTenant>>;
type Json = Record<string, unknown>;
type Kind = 'public' | 'tenant' | 'admin';

const PUBLIC_ROUTES = [
  /^\/api\/v1\/auth\//,
  /^\/api\/v1\/platform\//,
  /^\/(healthz|readyz)$/,
  /^\/$/,
  /^\/openapi\.json$/,
  /^\/docs(\/|$)/,
];
const TENANT_ROUTE = /^\/api\/v1\/tenants\/:tenant_id(\/|$)/;
const ADMIN_ROUTE = /^\/api\/v1\/admin\//;

/** Resource kinds reserved to super admins (docs/security.md), by path prefix and methods. */
const SUPER_ADMIN_ONLY: { prefix: string; methods: 'all' | 'writes' }[] = [
  { prefix: '/api/v1/admin/partners/', methods: 'all' },
  { prefix: '/api/v1/admin/admin-roles/', methods: 'all' },
  { prefix: '/api/v1/admin/tenants/', methods: 'writes' },
];

const READS = new Set(['GET', 'HEAD']);

function kindOf(route: RegisteredRoute): Kind | null {
  if (PUBLIC_ROUTES.some((pattern) => pattern.test(route.url))) return 'public';
  if (TENANT_ROUTE.test(route.url)) return 'tenant';
  if (ADMIN_ROUTE.test(route.url)) return 'admin';
  return null;
}

function superAdminOnly(route: RegisteredRoute): boolean {
  return SUPER_ADMIN_ONLY.some(
    (rule) => route.url.startsWith(rule.prefix) && (rule.methods === 'all' || !READS.has(route.method)),
  );
}

const pathParams = (url: string) => [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1] as string);

let t: TestApp;
let superToken: string;
const unique = () => randomBytes(4).toString('hex');

// Tenant A (partner P) holds one of every object; B1 lives under another partner, B2 under P.
let partnerOfA: { id: string };
let otherPartner: { id: string };
let tenantA: Tenant;
let tenantB1: Tenant;
let tenantB2: Tenant;
const a = {
  ou: '',
  user: '',
  userEmail: '',
  member: '',
  memberEmail: '',
  group: '',
  nestedGroup: '',
  application: '',
  roleAssignment: '',
};

/** A's object for each path parameter name. A route with a parameter missing here fails the sweep. */
let fillers: Record<string, string>;

/** Body fields the sweep fills with a value of A (required ones always, these optional ones too). */
let bodyIds: Record<string, unknown>;
/** Query values for required query parameters and for filters that name A's objects. */
let queryValues: Record<string, string>;

async function api(method: string, url: string, body?: unknown, token = superToken) {
  const response = await t.request({ method: method as never, url, token, body });
  if (response.status >= 300)
    throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body?.data;
}

beforeAll(async () => {
  t = await startTestApp();
  superToken = await t.platformToken();
  partnerOfA = await createPartner(t);
  otherPartner = await createPartner(t);
  tenantA = await createTenant(t, { partner_id: partnerOfA.id });
  tenantB1 = await createTenant(t, { partner_id: otherPartner.id });
  tenantB2 = await createTenant(t, { partner_id: partnerOfA.id });

  const base = `/api/v1/tenants/${tenantA.id}`;
  a.ou = (await api('POST', `${base}/ous`, { name: `OU ${unique()}` })).id;
  const user = await api('POST', `${base}/users`, {
    email: `a-user-${unique()}@example.com`,
    password: `A-user-password-${unique()}!`,
    ou_id: a.ou,
    send_welcome_email: false,
  });
  a.user = user.id;
  a.userEmail = user.email;
  const member = await api('POST', `${base}/users`, {
    email: `a-member-${unique()}@example.com`,
    send_welcome_email: false,
  });
  a.member = member.id;
  a.memberEmail = member.email;
  a.group = (
    await api('POST', `${base}/groups`, { name: `Group ${unique()}`, initial_members: [a.member] })
  ).id;
  a.nestedGroup = (await api('POST', `${base}/groups`, { name: `Nested ${unique()}` })).id;
  await api('POST', `/api/v1/admin/groups/${a.group}/nested-groups`, { group_ids: [a.nestedGroup] });
  await api('PUT', `${base}/groups/${a.nestedGroup}/members`, { users_to_add: [a.user] });
  a.application = (
    await api('POST', '/api/v1/admin/applications/', {
      name: `App ${unique()}`,
      application_type: 'WEB',
      scope: 'TENANT',
      tenant_id: tenantA.id,
      redirect_uris: ['https://a.example.com/callback'],
    })
  ).id;
  await api('POST', `${base}/applications/${a.application}/users`, { user_id: a.user });
  await api('POST', `${base}/groups/${a.group}/applications`, { application_id: a.application });
  a.roleAssignment = (
    await api('POST', '/api/v1/admin/admin-roles/', {
      user_id: a.member,
      role: 'TENANT_ADMIN',
      tenant_id: tenantA.id,
    })
  ).id;

  fillers = {
    tenant_id: tenantA.id,
    partner_id: partnerOfA.id,
    user_id: a.user,
    group_id: a.group,
    child_group_id: a.nestedGroup,
    ou_id: a.ou,
    application_id: a.application,
    app_id: a.application,
    assignment_id: a.roleAssignment,
  };
  bodyIds = {
    tenant_id: tenantA.id,
    user_id: a.user,
    user_ids: [a.member],
    group_ids: [a.nestedGroup],
    ou_id: a.ou,
    parent_id: a.ou,
    parent_group_id: a.group,
    application_id: a.application,
    initial_members: [a.member],
    users_to_add: [a.member],
    users_to_remove: [a.user],
  };
  queryValues = {
    confirm_email: a.userEmail,
    strategy: 'CASCADE',
    fix: 'true',
    tenant_id: tenantA.id,
    user_id: a.user,
    group_id: a.group,
    ou_id: a.ou,
    application_id: a.application,
  };
});

afterAll(async () => {
  await t?.close();
});

// ---------------------------------------------------------------------------------------------
// Plausible request bodies, generated from each route's own body schema.

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minLength?: number;
  minimum?: number;
  minItems?: number;
  items?: Schema;
  default?: unknown;
}

/** Enum values that change the most when a write leaks (a leaked disable shows in the snapshot). */
const PREFERRED_ENUM_VALUES = ['DISABLED', 'SUSPENDED', 'TENANT', 'TENANT_ADMIN', 'WEB', 'DIRECT'];

function sample(schema: Schema, field: string, includeIds: boolean): unknown {
  if (field in bodyIds) return includeIds ? bodyIds[field] : undefined;
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    const variant = variants.find((one) => one.type !== 'null') ?? variants[0];
    return variant ? sample(variant, field, includeIds) : null;
  }
  if (schema.const !== undefined) return schema.const;
  if (schema.enum)
    return schema.enum.find((value) => PREFERRED_ENUM_VALUES.includes(String(value))) ?? schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((one) => one !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return objectSample(schema, includeIds);
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () =>
        sample(schema.items ?? {}, field, includeIds),
      );
    case 'boolean':
      return false;
    case 'integer':
    case 'number':
      return schema.default ?? schema.minimum ?? 1;
    case 'null':
      return null;
    default:
      return stringSample(schema, field);
  }
}

function stringSample(schema: Schema, field: string): string {
  if (schema.format === 'email' || field.endsWith('email')) return `swept-${unique()}@example.com`;
  if (schema.format === 'date-time' || field.endsWith('_at'))
    return new Date(Date.now() + 86_400_000).toISOString();
  if (field.includes('password')) return `Swept-password-${unique()}!`;
  if (field === 'slug') return `swept-${unique()}`;
  return `Swept ${unique()}`.padEnd(schema.minLength ?? 0, 'x');
}

function objectSample(schema: Schema, includeIds: boolean): Json {
  const body: Json = {};
  const required = new Set(schema.required ?? []);
  for (const [field, property] of Object.entries(schema.properties ?? {})) {
    // Required fields, plus the optional ones that name A's objects or change what a user sees.
    if (
      !required.has(field) &&
      !(field in bodyIds) &&
      !['name', 'display_name', 'description'].includes(field)
    )
      continue;
    const value = sample(property, field, includeIds);
    if (value !== undefined) body[field] = value;
  }
  return body;
}

function querySample(
  route: RegisteredRoute,
  withFilters: boolean,
  includeIds: boolean,
): Record<string, string> {
  const schema = (route.schema?.querystring ?? {}) as Schema;
  const query: Record<string, string> = {};
  const required = new Set(schema.required ?? []);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const namesA = name in fillers;
    if (namesA && !includeIds) continue;
    if (!required.has(name) && !(withFilters && name in queryValues)) continue;
    if (name in queryValues) query[name] = queryValues[name] as string;
    else query[name] = String(sample(property, name, includeIds));
  }
  return query;
}

// ---------------------------------------------------------------------------------------------
// The callers, and what each of them may see of A.

interface Caller {
  name: string;
  tenant: () => Tenant;
  token: () => Promise<string>;
  /** Whether A's partner id is foreign to this caller (it is not for a tenant of the same partner). */
  partnerIsForeign: boolean;
}

const CALLERS: Caller[] = [
  {
    name: 'the tenant_admin of a tenant of another partner',
    tenant: () => tenantB1,
    token: async () => (await adminUserToken(t, { role: 'tenant_admin', tenant: tenantB1 })).token,
    partnerIsForeign: true,
  },
  {
    name: 'the tenant_admin of another tenant of the same partner',
    tenant: () => tenantB2,
    token: async () => (await adminUserToken(t, { role: 'tenant_admin', tenant: tenantB2 })).token,
    partnerIsForeign: false,
  },
  {
    name: 'the partner_admin of another partner',
    tenant: () => tenantB1,
    token: async () =>
      (await adminUserToken(t, { role: 'partner_admin', tenant: tenantB1, partnerId: otherPartner.id }))
        .token,
    partnerIsForeign: true,
  },
  {
    name: 'a TENANT application of a tenant of another partner (admin:write)',
    tenant: () => tenantB1,
    token: async () =>
      applicationToken(
        t,
        await insertApplication(t, { scope: 'TENANT', partnerId: otherPartner.id, tenantId: tenantB1.id }),
      ),
    partnerIsForeign: true,
  },
  {
    name: 'a PARTNER application of another partner (admin:write)',
    tenant: () => tenantB1,
    token: async () =>
      applicationToken(t, await insertApplication(t, { scope: 'PARTNER', partnerId: otherPartner.id })),
    partnerIsForeign: true,
  },
];

/** The ids and emails of A nobody outside A's reach may read. */
function secretsOfA(caller: Caller): string[] {
  return [tenantA.id, tenantA.slug, ...Object.values(a), ...(caller.partnerIsForeign ? [partnerOfA.id] : [])];
}

/** Every row of A's tenant, of A itself and of its partner, as text, to compare before and after. */
async function snapshotOfA(): Promise<string[]> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and column_name in ('id', 'tenant_id', 'user_tenant_id')
  `.execute(t.database.db);
  const tables = new Map<string, Set<string>>();
  for (const { table_name, column_name } of columns.rows) {
    if (!tables.has(table_name)) tables.set(table_name, new Set());
    tables.get(table_name)?.add(column_name);
  }
  const rows: string[] = [];
  for (const [table, names] of [...tables].sort(([x], [y]) => x.localeCompare(y))) {
    const conditions = [];
    if (names.has('tenant_id')) conditions.push(sql`tenant_id = ${tenantA.id}`);
    if (names.has('user_tenant_id')) conditions.push(sql`user_tenant_id = ${tenantA.id}`);
    if (table === 'tenants') conditions.push(sql`id = ${tenantA.id}`);
    if (table === 'partners') conditions.push(sql`id = ${partnerOfA.id}`);
    if (conditions.length === 0) continue;
    const result =
      await sql<Json>`select * from ${sql.table(table)} where ${sql.join(conditions, sql` or `)}`.execute(
        t.database.db,
      );
    for (const row of result.rows) rows.push(`${table} ${JSON.stringify(row)}`);
  }
  return rows.sort();
}

// ---------------------------------------------------------------------------------------------
// The sweep.

interface Probe {
  route: RegisteredRoute;
  url: string;
  body: Json | undefined;
  /** Allowed statuses; `list` adds: 2xx bodies carry none of A's ids. */
  expect: number[];
  why: string;
}

function fillPath(route: RegisteredRoute, own: Tenant | null): string {
  return route.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) =>
    name === 'tenant_id' && own ? own.id : (fillers[name] as string),
  );
}

function withQuery(url: string, query: Record<string, string>) {
  const search = new URLSearchParams(query).toString();
  return search ? `${url}?${search}` : url;
}

/** The requests of pass 1: A's tenant or A's objects in the path. */
function foreignPathProbes(route: RegisteredRoute): Probe[] {
  const kind = kindOf(route);
  const url = fillPath(route, null);
  const body = route.schema?.body ? objectSample(route.schema.body as Schema, true) : undefined;
  const isList = kind === 'admin' && READS.has(route.method) && pathParams(route.url).length === 0;
  if (superAdminOnly(route)) {
    return [
      {
        route,
        url: withQuery(url, querySample(route, true, true)),
        body,
        expect: [403],
        why: 'super_admin only',
      },
    ];
  }
  if (isList) {
    return [
      { route, url: withQuery(url, querySample(route, false, true)), body, expect: [200], why: 'a list' },
      {
        route,
        url: withQuery(url, querySample(route, true, true)),
        body,
        expect: [200, 404],
        why: 'a list filtered by A',
      },
    ];
  }
  return [
    { route, url: withQuery(url, querySample(route, true, true)), body, expect: [404], why: "A's objects" },
  ];
}

/** The requests of pass 2: the caller's own tenant in the path, A's objects everywhere else. */
function ownTenantProbes(route: RegisteredRoute, own: Tenant): Probe[] {
  const url = fillPath(route, own);
  const body = route.schema?.body ? objectSample(route.schema.body as Schema, true) : undefined;
  const namesObjectOfA = pathParams(route.url).some((name) => name !== 'tenant_id');
  if (namesObjectOfA) {
    return [
      {
        route,
        url: withQuery(url, querySample(route, true, true)),
        body,
        expect: [404],
        why: "A's object in own tenant",
      },
    ];
  }
  if (READS.has(route.method)) {
    return [
      { route, url: withQuery(url, querySample(route, false, true)), body, expect: [200], why: 'own list' },
      {
        route,
        url: withQuery(url, querySample(route, true, true)),
        body,
        expect: [200, 404],
        why: 'own list filtered by A',
      },
    ];
  }
  return [
    {
      route,
      url: withQuery(url, querySample(route, true, true)),
      body,
      expect: [200, 201, 204, 404],
      why: "own create naming A's objects",
    },
  ];
}

async function run(probe: Probe, token: string, secrets: string[]): Promise<string | null> {
  const { route } = probe;
  const response = await t.app.inject({
    method: route.method as never,
    url: probe.url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(probe.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(probe.body !== undefined ? { payload: JSON.stringify(probe.body) } : {}),
  });
  const label = `${route.method} ${route.url} (${probe.why}) → ${response.statusCode}`;
  if (!probe.expect.includes(response.statusCode)) {
    const hint =
      response.statusCode === 422
        ? '; the sweep sent a body or query the route refused: teach the body generator that field'
        : '';
    return `${label}, expected ${probe.expect.join(' or ')}${hint}: ${response.body.slice(0, 300)}`;
  }
  // Nothing of A that the request did not name may come back, whatever the status.
  const asked = `${probe.url} ${JSON.stringify(probe.body ?? null)}`;
  const leaked = secrets.filter((secret) => !asked.includes(secret) && response.body.includes(secret));
  if (leaked.length > 0)
    return `${label} answers with A's ${leaked.join(', ')}: ${response.body.slice(0, 300)}`;
  if (response.statusCode < 300 && route.method !== 'HEAD') {
    const named = secrets.filter((secret) => response.body.includes(secret));
    if (named.length > 0)
      return `${label} answers 2xx with A's ${named.join(', ')}: ${response.body.slice(0, 300)}`;
  }
  return null;
}

describe('tenant isolation sweep over every registered route', () => {
  const routes = () => t.app.scaikey.routes;
  const management = () => routes().filter((route) => kindOf(route) !== 'public' && kindOf(route) !== null);

  it('knows every registered route as public or management, and can fill every path parameter', () => {
    const problems: string[] = [];
    for (const route of routes()) {
      const kind = kindOf(route);
      if (kind === null)
        problems.push(
          `${route.method} ${route.url} is neither public nor a tenant or admin route: add a rule to tests/isolation-sweep.test.ts`,
        );
      if (kind === 'public' || kind === null) continue;
      if (route.url.includes('*'))
        problems.push(
          `${route.method} ${route.url}: a wildcard route cannot be swept; give it named parameters`,
        );
      for (const name of pathParams(route.url)) {
        if (!(name in fillers))
          problems.push(
            `${route.method} ${route.url}: no filler for path parameter "${name}"; add one (an object of tenant A) to \`fillers\` in tests/isolation-sweep.test.ts`,
          );
      }
    }
    expect(problems).toEqual([]);
    // The sweep is not vacuous: the management API is there, with its tenant and admin routes.
    expect(management().filter((route) => kindOf(route) === 'tenant').length).toBeGreaterThan(20);
    expect(management().filter((route) => kindOf(route) === 'admin').length).toBeGreaterThan(20);
  });

  it('every management route requires a bearer token', async () => {
    const open: string[] = [];
    for (const route of management()) {
      const response = await t.app.inject({ method: route.method as never, url: fillPath(route, null) });
      if (response.statusCode !== 401) open.push(`${route.method} ${route.url} → ${response.statusCode}`);
    }
    expect(open).toEqual([]);
  });

  for (const caller of CALLERS) {
    it(`${caller.name} finds nothing of A on any management route, and changes nothing of A`, async () => {
      const token = await caller.token();
      const before = await snapshotOfA();
      const failures: string[] = [];
      let probes = 0;
      const own = caller.tenant();
      for (const route of management()) {
        const plan = [
          ...foreignPathProbes(route),
          ...(kindOf(route) === 'tenant' ? ownTenantProbes(route, own) : []),
        ];
        for (const probe of plan) {
          probes++;
          const failure = await run(probe, token, secretsOfA(caller));
          if (failure) failures.push(failure);
        }
      }
      expect(failures).toEqual([]);
      expect(probes).toBeGreaterThan(management().length);
      const after = await snapshotOfA();
      expect(after).toEqual(before);
    });
  }

  it("A's objects are still all there for A's own administrators", async () => {
    // The snapshot compares rows; this reads them through the API as a super admin once more.
    const base = `/api/v1/tenants/${tenantA.id}`;
    const group = await api('GET', `${base}/groups/${a.group}`);
    expect(group.id).toBe(a.group);
    const members = await api('GET', `/api/v1/admin/groups/${a.group}/effective-members`);
    expect(members.map((member: Json) => member.user_id ?? member.id).sort()).toEqual(
      [a.member, a.user].sort(),
    );
    const assignees = await api('GET', `${base}/applications/${a.application}/assignees`);
    expect(assignees.users.map((user: Json) => user.user_id)).toEqual([a.user]);
    expect(assignees.groups.map((group: Json) => group.group_id)).toEqual([a.group]);
    const role = await api('GET', `/api/v1/admin/admin-roles/${a.roleAssignment}`);
    expect(role.is_active).toBe(true);
  });
});

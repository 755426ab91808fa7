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
 *   (`/api/v1/auth/…`, `/api/v1/platform/…`), health (`/healthz`, `/readyz`), the home page `/`,
 *   the API documentation (`/openapi.json`, `/docs…`) and the admin console's files
 *   (`/console…`). They take no bearer token and act on no tenant's directory by id.
 * - Every other route must be a management route: tenant routes (`/api/v1/tenants/:tenant_id/…`)
 *   or admin routes (`/api/v1/admin/…`). Anything else fails the sweep until a rule is added here.
 * - Resource kinds only a super_admin may touch at all answer 403 whatever the target
 *   (docs/security.md: "Partners, tenant writes and admin role assignments are super_admin only";
 *   docs/api-decisions.md: "Writes a caller may never make answer 403 whatever the target"). For
 *   everything else, a path naming A's objects answers 404.
 * - Admin GET routes without an object id are lists: 200 with none of A's ids or emails in them.
 * - Every route is also called with the caller's own tenant and objects (its tenant is populated
 *   like A) and one reference at a time pointing into A: a path parameter, a body field that names
 *   an object, or a query filter. A path or body reference of A answers 404 (the per-object tenant
 *   predicate, not only the tenant check); a query filter naming A answers 404 or an empty-of-A 200.
 * - HEAD routes (Fastify's twins of the GET routes) are swept like their GET routes.
 * - No response of any status to these callers carries an id or email of A that the request did
 *   not name, and after the sweep every row of A's tenant (and of its partner) is as it was.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../src/app.js';
import { newId } from '../src/lib/ids.js';
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
type Kind = 'public' | 'tenant' | 'admin' | 'self';

const PUBLIC_ROUTES = [
  /^\/api\/v1\/auth\//,
  /^\/api\/v1\/platform\//,
  /^\/(healthz|readyz)$/,
  /^\/$/,
  /^\/openapi\.json$/,
  /^\/docs(\/|$)/,
  /^\/console(\/|$)/,
];
const TENANT_ROUTE = /^\/api\/v1\/tenants\/:tenant_id(\/|$)/;
const ADMIN_ROUTE = /^\/api\/v1\/admin\//;
/** The self-service context: a user's own account (src/contexts/self-service.ts). */
const SELF_ROUTE = /^\/api\/v1\/me(\/|$)/;

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
  if (SELF_ROUTE.test(route.url)) return 'self';
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

// Tenant A (partner P) holds one of every object; B1 lives under another partner, B2 under P, and
// each of them holds the same objects (a caller's own objects fill the rest of a request).
let partnerOfA: { id: string };
let otherPartner: { id: string };
let tenantA: Tenant;
let tenantB1: Tenant;
let tenantB2: Tenant;

/** One tenant's objects: one of every kind the management API addresses. */
interface World {
  tenant: Tenant;
  ou: string;
  user: string;
  userEmail: string;
  member: string;
  memberEmail: string;
  group: string;
  nestedGroup: string;
  application: string;
  roleAssignment: string;
  session: string;
  /** An audit entry of the tenant (issue 14). */
  auditEntry: string;
  /** A tenant webhook endpoint, and one of its deliveries (a test ping to a closed port). */
  webhook: string;
  delivery: string;
  /** An identity provider of the tenant (issue 15): a directory no test reaches. */
  identityProvider: string;
}
let a: World;
const worlds = new Map<string, World>();

/** The object of a world for each path parameter name. A parameter missing here fails the sweep. */
const PATH_FILLERS: Record<string, (w: World) => string> = {
  tenant_id: (w) => w.tenant.id,
  partner_id: (w) => w.tenant.partner_id,
  user_id: (w) => w.user,
  group_id: (w) => w.group,
  child_group_id: (w) => w.nestedGroup,
  ou_id: (w) => w.ou,
  application_id: (w) => w.application,
  app_id: (w) => w.application,
  assignment_id: (w) => w.roleAssignment,
  session_id: (w) => w.session,
  entry_id: (w) => w.auditEntry,
  webhook_id: (w) => w.webhook,
  delivery_id: (w) => w.delivery,
  idp_id: (w) => w.identityProvider,
};

/**
 * Body fields that reference objects, filled from a world (required ones always, optional ones
 * too); the values of the caller's own world are ones its requests may legitimately use.
 */
const BODY_REFERENCES: Record<string, (w: World) => unknown> = {
  tenant_id: (w) => w.tenant.id,
  user_id: (w) => w.user,
  user_ids: (w) => [w.member],
  group_ids: (w) => [w.nestedGroup],
  ou_id: (w) => w.ou,
  parent_id: (w) => w.ou,
  parent_group_id: (w) => w.group,
  application_id: (w) => w.application,
  initial_members: (w) => [w.member],
  users_to_add: (w) => [w.member],
  users_to_remove: (w) => [w.user],
};

/** Query filters that reference objects (sent only when they are the probe's foreign reference). */
const QUERY_REFERENCES: Record<string, (w: World) => string> = {
  tenant_id: (w) => w.tenant.id,
  partner_id: (w) => w.tenant.partner_id,
  user_id: (w) => w.user,
  group_id: (w) => w.group,
  ou_id: (w) => w.ou,
  application_id: (w) => w.application,
};

/** Values for other query parameters: the most destructive choice, so that a leak shows. */
const QUERY_VALUES: Record<string, string> = { strategy: 'CASCADE', fix: 'true' };

async function api(method: string, url: string, body?: unknown, token = superToken) {
  const response = await t.request({ method: method as never, url, token, body });
  if (response.status >= 300)
    throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body?.data;
}

/** One of every object in `tenant`, through the API as a super admin. */
async function populate(tenant: Tenant): Promise<World> {
  const base = `/api/v1/tenants/${tenant.id}`;
  const ou = (await api('POST', `${base}/ous`, { name: `OU ${unique()}` })).id;
  const user = await api('POST', `${base}/users`, {
    email: `user-${unique()}@example.com`,
    password: `User-password-${unique()}!`,
    ou_id: ou,
    send_welcome_email: false,
  });
  const member = await api('POST', `${base}/users`, {
    email: `member-${unique()}@example.com`,
    send_welcome_email: false,
  });
  const group = (
    await api('POST', `${base}/groups`, { name: `Group ${unique()}`, initial_members: [member.id, user.id] })
  ).id;
  const nestedGroup = (await api('POST', `${base}/groups`, { name: `Nested ${unique()}` })).id;
  await api('POST', `/api/v1/admin/groups/${group}/nested-groups`, { group_ids: [nestedGroup] });
  await api('PUT', `${base}/groups/${nestedGroup}/members`, { users_to_add: [user.id] });
  const application = (
    await api('POST', '/api/v1/admin/applications/', {
      name: `App ${unique()}`,
      application_type: 'WEB',
      scope: 'TENANT',
      tenant_id: tenant.id,
      redirect_uris: ['https://app.example.com/callback'],
    })
  ).id;
  await api('POST', `${base}/applications/${application}/users`, { user_id: user.id });
  await api('POST', `${base}/groups/${group}/applications`, { application_id: application });
  const roleAssignment = (
    await api('POST', '/api/v1/admin/admin-roles/', {
      user_id: member.id,
      role: 'TENANT_ADMIN',
      tenant_id: tenant.id,
    })
  ).id;
  // A signed-in session of the user, as the tenant's provider stores it (oidc-provider's record and
  // ScaiKey's, src/modules/sessions); the sweep has no browser to sign in with.
  const session = newId('session');
  const sessionUid = `sweep${unique()}${unique()}`;
  await t.database.db
    .insertInto('oidc_payloads')
    .values({
      model: 'Session',
      id: `sweep${unique()}${unique()}${unique()}`,
      payload: JSON.stringify({
        accountId: user.id,
        loginTs: Math.floor(Date.now() / 1000),
        amr: ['pwd'],
        uid: sessionUid,
        kind: 'Session',
        authorizations: {},
      }),
      uid: sessionUid,
      grant_id: null,
      user_code: null,
      expires_at: new Date(Date.now() + 3_600_000),
    })
    .execute();
  await t.database.db
    .insertInto('user_sessions')
    .values({ tenant_id: tenant.id, id: session, user_id: user.id, session_uid: sessionUid })
    .execute();
  const auditEntry = (
    await t.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .where('action', '=', 'user.created')
      .executeTakeFirstOrThrow()
  ).id;
  const webhook = (
    await api('POST', '/api/v1/admin/webhooks/', {
      url: 'http://127.0.0.1:9/sweep',
      events: ['*'],
      tenant_id: tenant.id,
      enabled: false,
    })
  ).id;
  const delivery = String((await api('POST', `/api/v1/admin/webhooks/${webhook}/test`)).delivery_id);
  const identityProvider = (
    await api('POST', '/api/v1/admin/identity-providers/', {
      tenant_id: tenant.id,
      provider_type: 'LDAP',
      name: `Directory ${unique()}`,
      config: {
        url: 'ldaps://127.0.0.1:9',
        bind_dn: 'cn=sweep',
        bind_password: 'sweep-bind-password',
        user_base_dn: 'dc=sweep',
        timeout_ms: 500,
      },
    })
  ).id;
  return {
    identityProvider,
    session,
    auditEntry,
    webhook,
    delivery,
    tenant,
    ou,
    user: user.id,
    userEmail: user.email,
    member: member.id,
    memberEmail: member.email,
    group,
    nestedGroup,
    application,
    roleAssignment,
  };
}

beforeAll(async () => {
  t = await startTestApp();
  superToken = await t.platformToken();
  partnerOfA = await createPartner(t);
  otherPartner = await createPartner(t);
  tenantA = await createTenant(t, { partner_id: partnerOfA.id });
  tenantB1 = await createTenant(t, { partner_id: otherPartner.id });
  tenantB2 = await createTenant(t, { partner_id: partnerOfA.id });
  a = await populate(tenantA);
  for (const tenant of [tenantB1, tenantB2]) worlds.set(tenant.id, await populate(tenant));
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

/** Where a probe puts its one foreign reference (an object of A among the caller's own). */
interface Slot {
  in: 'path' | 'body' | 'query';
  name: string;
}

/** Fills requests from `own`, except the slot (or, without a slot, everything) from A. */
interface Filling {
  own: World;
  slot: Slot | null;
}
const pick = (filling: Filling, where: Slot['in'], name: string) =>
  !filling.slot || (filling.slot.in === where && filling.slot.name === name) ? a : filling.own;

function sample(schema: Schema, field: string, filling: Filling): unknown {
  const reference = BODY_REFERENCES[field];
  if (reference) return reference(pick(filling, 'body', field));
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    const variant = variants.find((one) => one.type !== 'null') ?? variants[0];
    return variant ? sample(variant, field, filling) : null;
  }
  if (schema.const !== undefined) return schema.const;
  if (schema.enum)
    return schema.enum.find((value) => PREFERRED_ENUM_VALUES.includes(String(value))) ?? schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((one) => one !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return objectSample(schema, filling);
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}, field, filling));
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
  // Webhook endpoints: a URL nothing listens on, every event type.
  if (field === 'url') return 'http://127.0.0.1:9/swept';
  if (field === 'events') return '*';
  return `Swept ${unique()}`.padEnd(schema.minLength ?? 0, 'x');
}

/** Required fields, plus the optional ones that reference objects or change what a user sees. */
function sentFields(schema: Schema): [string, Schema][] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).filter(
    ([field]) =>
      required.has(field) ||
      field in BODY_REFERENCES ||
      ['name', 'display_name', 'description'].includes(field),
  );
}

function objectSample(schema: Schema, filling: Filling): Json {
  return Object.fromEntries(
    sentFields(schema).map(([field, property]) => [field, sample(property, field, filling)]),
  );
}

function querySample(route: RegisteredRoute, filling: Filling, path: string): Record<string, string> {
  const schema = (route.schema?.querystring ?? {}) as Schema;
  const required = new Set(schema.required ?? []);
  const query: Record<string, string> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const reference = QUERY_REFERENCES[name];
    if (reference) {
      if (filling.slot?.in === 'query' && filling.slot.name === name) query[name] = reference(a);
      else if (required.has(name)) query[name] = reference(filling.own);
    } else if (name === 'confirm_email') {
      // The email of the user the path names, so that a leaked delete would go through.
      query[name] = path.includes(a.user) ? a.userEmail : filling.own.userEmail;
    } else if (name in QUERY_VALUES) {
      query[name] = QUERY_VALUES[name] as string;
    } else if (required.has(name)) {
      query[name] = String(sample(property, name, filling));
    }
  }
  return query;
}

/** The places of a route where a probe can put a foreign reference. */
function slotsOf(route: RegisteredRoute): Slot[] {
  const path = pathParams(route.url)
    .filter((name) => !(name === 'tenant_id' && kindOf(route) === 'tenant'))
    .map((name) => ({ in: 'path' as const, name }));
  const body = sentFields((route.schema?.body ?? {}) as Schema)
    .filter(([field]) => field in BODY_REFERENCES)
    .map(([name]) => ({ in: 'body' as const, name }));
  const query = READS.has(route.method)
    ? Object.keys(((route.schema?.querystring ?? {}) as Schema).properties ?? {})
        .filter((name) => name in QUERY_REFERENCES)
        .map((name) => ({ in: 'query' as const, name }))
    : [];
  return [...path, ...body, ...query];
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

// A partner_admin of A's own partner is not among them: A is within its reach by definition.
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
  // A delivery id is a small number (found in any text): the webhook's id stands for it.
  const { tenant, delivery: _delivery, ...objects } = a;
  return [
    tenant.id,
    tenant.slug,
    ...Object.values(objects),
    ...(caller.partnerIsForeign ? [partnerOfA.id] : []),
  ];
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
  expect: number[];
  why: string;
}

function build(route: RegisteredRoute, filling: Filling, expect: number[], why: string): Probe {
  const path = route.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const filler = PATH_FILLERS[name];
    return filler ? filler(pick(filling, 'path', name)) : `:${name}`;
  });
  const search = new URLSearchParams(querySample(route, filling, path)).toString();
  const body = route.schema?.body ? objectSample(route.schema.body as Schema, filling) : undefined;
  return { route, url: search ? `${path}?${search}` : path, body, expect, why };
}

/**
 * The requests for one route and one caller: first everything naming A (A's tenant, A's objects),
 * then the caller's own tenant and objects with one reference at a time pointing into A.
 */
function probesFor(route: RegisteredRoute, own: World): Probe[] {
  const forbidden = superAdminOnly(route);
  const isRead = READS.has(route.method);
  const probes: Probe[] = [];
  const everythingOfA: Filling = { own, slot: null };
  if (forbidden) probes.push(build(route, everythingOfA, [403], 'super_admin only'));
  else if (kindOf(route) === 'admin' && isRead && pathParams(route.url).length === 0)
    probes.push(build(route, { own, slot: { in: 'query', name: '(none)' } }, [200], 'a list'));
  else probes.push(build(route, everythingOfA, [404], "A's tenant and objects"));

  const slots = slotsOf(route);
  for (const slot of slots) {
    const expect = forbidden ? [403] : slot.in === 'query' ? [200, 404] : [404];
    probes.push(build(route, { own, slot }, expect, `own objects, ${slot.in} ${slot.name} of A`));
  }
  if (kindOf(route) === 'tenant' && isRead && slots.every((slot) => slot.in === 'query'))
    probes.push(build(route, { own, slot: { in: 'query', name: '(none)' } }, [200], 'own list'));
  return probes;
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
  const management = () =>
    routes().filter((route) => kindOf(route) === 'tenant' || kindOf(route) === 'admin');
  const selfService = () => routes().filter((route) => kindOf(route) === 'self');

  it('knows every registered route as public or management, and can fill every path parameter', () => {
    const problems: string[] = [];
    for (const route of routes()) {
      const kind = kindOf(route);
      if (kind === null)
        problems.push(
          `${route.method} ${route.url} is neither public nor a tenant or admin route: add a rule to tests/isolation-sweep.test.ts`,
        );
      if (kind === 'public' || kind === 'self' || kind === null) continue;
      if (route.url.includes('*'))
        problems.push(
          `${route.method} ${route.url}: a wildcard route cannot be swept; give it named parameters`,
        );
      for (const name of pathParams(route.url)) {
        if (!(name in PATH_FILLERS))
          problems.push(
            `${route.method} ${route.url}: no filler for path parameter "${name}"; add one (the object of a world it names) to PATH_FILLERS in tests/isolation-sweep.test.ts`,
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
      const response = await t.app.inject({
        method: route.method as never,
        url: build(route, { own: a, slot: null }, [], '').url,
      });
      if (response.statusCode !== 401) open.push(`${route.method} ${route.url} → ${response.statusCode}`);
    }
    expect(open).toEqual([]);
  });

  it('every self-service read answers each caller about itself only (403 to applications), nothing of A', async () => {
    const reads = selfService().filter((route) => READS.has(route.method) && !route.url.includes(':'));
    expect(reads.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const caller of CALLERS) {
      const token = await caller.token();
      for (const route of reads) {
        const probe: Probe = { route, url: route.url, body: undefined, why: caller.name, expect: [200, 403] };
        const failure = await run(probe, token, secretsOfA(caller));
        if (failure) failures.push(failure);
      }
    }
    expect(failures).toEqual([]);
  });

  for (const caller of CALLERS) {
    it(`${caller.name} finds nothing of A on any management route, and changes nothing of A`, async () => {
      const token = await caller.token();
      const before = await snapshotOfA();
      // The snapshot holds A's directory: every kind of object the setup made is in it.
      const tablesOfA = new Set(before.map((row) => row.split(' ')[0]));
      for (const table of [
        'tenants',
        'partners',
        'ous',
        'users',
        'groups',
        'group_edges',
        'group_memberships',
      ])
        expect(tablesOfA).toContain(table);
      for (const table of ['applications', 'application_assignments', 'admin_role_assignments'])
        expect(tablesOfA).toContain(table);
      const failures: string[] = [];
      let probes = 0;
      const own = worlds.get(caller.tenant().id) as World;
      for (const route of management()) {
        const plan = probesFor(route, own);
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
    const session = await api('GET', `/api/v1/admin/sessions/${a.session}`);
    expect(session).toMatchObject({ id: a.session, user_id: a.user, tenant_id: tenantA.id });
  });
});

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyPassword } from '../src/lib/passwords.js';
import { CONSOLE_CLIENT_ID } from '../src/modules/bootstrap/index.js';
import { createTenant } from './helpers/factories.js';
import { moment } from './helpers/moment.js';
import { createTestDatabase, onPostgres, startTestApp, type TestDatabase } from './helpers/test-app.js';

describe('restart', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ persistent: true });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('finds all committed data after the database is closed and opened again', async () => {
    const first = await startTestApp({}, database);
    const tenant = await createTenant(first, { name: 'Survivor', settings: { session_timeout: 90 } });
    const kid = first.app.scaikey.keys.active.kid;
    await first.close();

    const second = await startTestApp({}, database);
    try {
      const response = await second.request({
        method: 'GET',
        url: `/api/v1/admin/tenants/${tenant.id}`,
        token: await second.platformToken(),
      });
      expect(response.status).toBe(200);
      expect(response.body.data).toMatchObject({ name: 'Survivor', settings: { session_timeout: 90 } });
      // Same signing key, same bootstrap client: nothing was created twice.
      expect(second.app.scaikey.keys.active.kid).toBe(kid);
      expect(second.app.scaikey.bootstrap.firstStart).toBe(false);
      const partners = await second.database.db
        .selectFrom('partners')
        .select('id')
        .where('is_platform', '=', true)
        .execute();
      expect(partners).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});

describe('bootstrap', () => {
  it('generates a client once when no id is configured and never shows the secret again', async () => {
    const database = await createTestDatabase({ persistent: true });
    const bootstrap = { clientId: null, clientSecret: null, adminEmail: null, adminPassword: null };
    const first = await startTestApp({ bootstrap }, database);
    const { clientId, generatedClientSecret } = first.app.scaikey.bootstrap;
    expect(clientId).toMatch(/^app_[0-9a-z]{20}$/);
    expect(generatedClientSecret?.length).toBeGreaterThanOrEqual(40);
    const token = await first.request({
      method: 'POST',
      url: '/api/v1/platform/oauth/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${generatedClientSecret}`).toString('base64')}`,
      },
      payload: 'grant_type=client_credentials&scope=admin:read',
    });
    expect(token.status).toBe(200);
    const row = await first.database.db
      .selectFrom('applications')
      .selectAll()
      .where('id', '=', clientId as string)
      .executeTakeFirstOrThrow();
    expect(row.client_secret_digest).not.toContain(generatedClientSecret as string);
    expect(row).toMatchObject({ scope: 'GLOBAL', application_type: 'SERVICE' });
    expect(row.allowed_scopes).toEqual(['admin:read', 'admin:write', 'users:read', 'groups:read']);
    await first.close();

    const second = await startTestApp({ bootstrap }, database);
    expect(second.app.scaikey.bootstrap).toMatchObject({ firstStart: false, generatedClientSecret: null });
    // One bootstrap client (beside the console's own application, which every start keeps).
    const applications = await second.database.db
      .selectFrom('applications')
      .select('id')
      .where('id', '!=', CONSOLE_CLIENT_ID)
      .execute();
    expect(applications).toHaveLength(1);
    await second.close();
    await database.drop();
  });

  it('creates the super_admin user from SCAIKEY_BOOTSTRAP_ADMIN_* once, with an argon2id hash', async () => {
    const database = await createTestDatabase({ persistent: true });
    const bootstrap = {
      clientId: 'app_bootstrap0000000test',
      clientSecret: 'test-bootstrap-secret-0123456789abcdefghij',
      adminEmail: 'Admin@Example.com',
      adminPassword: 'correct horse battery staple',
    };
    const first = await startTestApp({ bootstrap }, database);
    expect(first.app.scaikey.bootstrap.adminCreated).toBe(true);
    const user = await first.database.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', 'Admin@Example.com')
      .executeTakeFirstOrThrow();
    expect(user.password_hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(user.password_hash as string, 'correct horse battery staple')).toBe(true);
    const role = await first.database.db
      .selectFrom('admin_role_assignments')
      .selectAll()
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(role.role).toBe('SUPER_ADMIN');
    await first.close();

    const second = await startTestApp(
      { bootstrap: { ...bootstrap, adminEmail: 'admin@example.com' } },
      database,
    );
    expect(second.app.scaikey.bootstrap.adminCreated).toBe(false);
    await second.close();
    await database.drop();
  });

  it('replaces the stored secret when SCAIKEY_BOOTSTRAP_CLIENT_SECRET changes', async () => {
    const database = await createTestDatabase({ persistent: true });
    const first = await startTestApp({}, database);
    await first.close();
    const rotated = 'a-brand-new-bootstrap-secret-abcdefghijklmnop';
    const second = await startTestApp(
      {
        bootstrap: {
          clientId: 'app_bootstrap0000000test',
          clientSecret: rotated,
          adminEmail: null,
          adminPassword: null,
        },
      },
      database,
    );
    const basic = (secret: string) =>
      `Basic ${Buffer.from(`app_bootstrap0000000test:${secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const oldSecret = await second.request({
      method: 'POST',
      url: '/api/v1/platform/oauth/token',
      headers: { ...form, authorization: basic('test-bootstrap-secret-0123456789abcdefghij') },
      payload: 'grant_type=client_credentials',
    });
    expect(oldSecret.status).toBe(401);
    const newSecret = await second.request({
      method: 'POST',
      url: '/api/v1/platform/oauth/token',
      headers: { ...form, authorization: basic(rotated) },
      payload: 'grant_type=client_credentials',
    });
    expect(newSecret.status).toBe(200);
    await second.close();
    await database.drop();
  });
});

describe.runIf(onPostgres)('two instances on one PostgreSQL database', () => {
  it('behave as one: a deletion on one ends the tokens on the other (LISTEN/NOTIFY)', async () => {
    const database = await createTestDatabase();
    const a = await startTestApp({}, database);
    const b = await startTestApp({}, database);
    try {
      const tenant = await createTenant(a);
      const { adminUserToken } = await import('./helpers/factories.js');
      const { token } = await adminUserToken(a, { role: 'tenant_admin', tenant });
      // B verifies the token and caches it.
      expect(
        (await b.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token })).status,
      ).toBe(200);
      const deletion = await a.request({
        method: 'DELETE',
        url: `/api/v1/admin/tenants/${tenant.id}`,
        token: await a.platformToken(),
      });
      expect(deletion.status).toBe(204);
      // The notification reaches B asynchronously: waited on, not timed (a busy machine is slow).
      await vi.waitFor(
        async () => {
          const response = await b.request({
            method: 'GET',
            url: `/api/v1/admin/tenants/${tenant.id}`,
            token,
          });
          expect(response.status).toBe(401);
        },
        { timeout: 30_000, interval: 20 },
      );
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });
});

describe.runIf(onPostgres)('lost database connections', () => {
  it('are logged and replaced: the process keeps running and answers the next request', async () => {
    const database = await createTestDatabase();
    const t = await startTestApp({}, database);
    try {
      const token = await t.platformToken();
      const tenant = await createTenant(t);
      const warn = vi.spyOn(t.app.log, 'warn');
      // One connection is checked out when they are terminated: a transaction in progress.
      const released = moment();
      const begun = moment();
      const open = t.database.db
        .transaction()
        .execute(async (trx) => {
          await sql`select 1`.execute(trx);
          begun.reach();
          await released.reached;
          await sql`select 1`.execute(trx);
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      await begun.reached;
      // Terminate every connection of the app (pool and LISTEN), as a server restart would.
      const url = new URL(database.env.DATABASE_URL as string);
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      const { rows } = await admin.query<{ terminated: boolean }>(
        'select pg_terminate_backend(pid) as terminated from pg_stat_activity where datname = $1',
        [url.pathname.slice(1)],
      );
      await admin.end();
      expect(rows.length).toBeGreaterThan(0);
      // Every terminated connection is reported, once: idle pool clients, clients checked out by
      // work in flight (a fan-out step after the tenant's event), and the LISTEN client. A read
      // sent before the last report could still be handed a dead idle client by the pool.
      const lost = () =>
        warn.mock.calls.filter((call) => /database connection lost/.test(String(call[1]))).length;
      await vi.waitFor(() => expect(lost()).toBeGreaterThanOrEqual(rows.length), {
        timeout: 30_000,
        interval: 20,
      });
      // The transaction's next statement fails with the loss (its caller answers as for any error).
      released.reach();
      expect(await open).toBeInstanceOf(Error);
      const read = await t.request({ method: 'GET', url: `/api/v1/admin/tenants/${tenant.id}`, token });
      expect(read.status).toBe(200);
    } finally {
      await t.close();
      await database.drop();
    }
  });
});

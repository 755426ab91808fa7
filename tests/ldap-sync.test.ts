// Issue 15: the LDAP sync against a real OpenLDAP slapd, checked through the admin API.
import { sql } from 'kysely';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import { groupClosureDrift } from '../src/modules/groups/index.js';
import {
  emptyCounts,
  type LdapSyncRequest,
  type LdapSyncRunRow,
  REMOVED_FROM_DIRECTORY,
  SyncAlreadyRunning,
  syncLdapDirectory,
} from '../src/protocols/federation/ldap/sync.js';
import type { LdapProviderConfig } from '../src/protocols/federation/types.js';
import { directoryData, personPassword, sshaHash } from './helpers/directory-data.js';
import { createTenant, type Tenant } from './helpers/factories.js';
import {
  insertLdapProviderRow,
  openLdapConfig,
  type Slapd,
  slapdInstalled,
  startSlapd,
} from './helpers/slapd.js';
import { onPostgres, useTestApp } from './helpers/test-app.js';

const t = useTestApp();
const origin = { actorType: 'system', actorId: null, ipAddress: null, requestId: null };

async function ldapProvider(tenant: Tenant, config: LdapProviderConfig) {
  const id = await insertLdapProviderRow(t.database.db, tenant.id, 'Corporate LDAP', config);
  return { id, config, default_ou_id: null };
}

function request(
  tenant: Tenant,
  provider: LdapSyncRequest['provider'],
  bindPassword: string,
): LdapSyncRequest {
  return { tenantId: tenant.id, provider, bindPassword, trigger: 'MANUAL', origin };
}

async function userTotal(tenant: Tenant, query = '') {
  const response = await t.get(`/api/v1/tenants/${tenant.id}/users?per_page=1${query}`);
  expect(response.status).toBe(200);
  return response.body.pagination.total_items as number;
}

async function groupsOf(tenant: Tenant) {
  const response = await t.get(`/api/v1/tenants/${tenant.id}/groups?per_page=100`);
  expect(response.status).toBe(200);
  return response.body.data as { id: string; name: string; member_count: number }[];
}

async function effectiveTotal(groupId: string) {
  const response = await t.get(`/api/v1/admin/groups/${groupId}/effective-members?per_page=1`);
  expect(response.status).toBe(200);
  return response.body.pagination.total_items as number;
}

async function effectiveSum(tenant: Tenant) {
  let sum = 0;
  for (const group of await groupsOf(tenant)) sum += await effectiveTotal(group.id);
  return sum;
}

const ZERO = emptyCounts();

describe.skipIf(!slapdInstalled)('LDAP sync', () => {
  const data = directoryData({ people: 300, locked: ['user00010'] });
  // cycle-a ⇄ cycle-b: the nesting that closes the cycle (cycle-b ∈ cycle-a, in DN order the
  // second) is left out, so cycle-b has no effective members, where the directory gives it the
  // two direct members of cycle-a.
  const cycleLoss = 2;
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd(data);
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  it('mirrors every person, group, membership and nesting on the first sync, exactly', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd));
    const run = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.error).toBeNull();
    expect(run.counts).toEqual({
      ...ZERO,
      users_created: data.expected.people,
      groups_created: data.expected.groups,
      memberships_added: data.expected.directMemberships,
      nested_groups_added: data.expected.groupEdges - 1,
      nested_groups_skipped: 1,
    });

    expect(await userTotal(tenant)).toBe(data.expected.people);
    expect(await userTotal(tenant, '&status=ACTIVE')).toBe(data.expected.people - 1);
    expect(await userTotal(tenant, '&status=DISABLED')).toBe(1);
    const list = await t.get(`/api/v1/tenants/${tenant.id}/users?per_page=100`);
    expect(list.body.data.every((u: { identity_source: string }) => u.identity_source === 'LDAP')).toBe(true);
    const groups = await groupsOf(tenant);
    expect(groups).toHaveLength(data.expected.groups);
    expect(groups.reduce((n, g) => n + g.member_count, 0)).toBe(data.expected.directMemberships);
    expect(await effectiveSum(tenant)).toBe(data.expected.effectiveMemberships - cycleLoss);
    const allStaff = groups.find((g) => g.name === 'all-staff');
    expect(await effectiveTotal(allStaff?.id ?? '')).toBe(data.expected.people);
    expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });

    const person = data.people[4];
    const found = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${person?.uid}`);
    expect(found.body.data).toHaveLength(1);
    const user = await t.get(`/api/v1/tenants/${tenant.id}/users/${found.body.data[0].id}`);
    expect(user.body.data).toMatchObject({
      email: person?.mail,
      first_name: person?.givenName,
      last_name: person?.sn,
      display_name: person?.displayName,
      identity_source: 'LDAP',
      status: 'ACTIVE',
      email_verified: true,
    });
    const link = await t.database.db
      .selectFrom('federated_identities')
      .select(['subject', 'external_dn', 'upstream_groups', 'removed_at'])
      .where('tenant_id', '=', tenant.id)
      .where('user_id', '=', found.body.data[0].id)
      .executeTakeFirstOrThrow();
    expect(link.subject).toMatch(/^[0-9a-f-]{36}$/);
    expect(link.external_dn).toBe(person?.dn);
    expect(link.removed_at).toBeNull();
    expect(new Set(link.upstream_groups as unknown as string[])).toEqual(
      data.effectiveGroupsOf(person?.dn ?? ''),
    );

    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'result', 'after'])
      .where('resource_id', '=', provider.id)
      .execute();
    expect(audit).toEqual([
      {
        action: 'identity_provider.synced',
        result: 'SUCCESS',
        after: expect.objectContaining({ run_id: run.id }),
      },
    ]);
  });

  it('changes nothing on a second sync of an unchanged directory', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd, { url: slapd.url, start_tls: true }));
    expect(
      (await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword))).status,
    ).toBe('SUCCEEDED');
    const second = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(second.counts).toEqual({
      ...ZERO,
      users_unchanged: data.expected.people,
      groups_unchanged: data.expected.groups,
      nested_groups_skipped: 1,
    });
    expect(await effectiveSum(tenant)).toBe(data.expected.effectiveMemberships - cycleLoss);
  });

  it('refuses a second sync of the same provider while one runs', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd));
    // On PostgreSQL the winner is held in its apply step by the tenant's group lock (taken here),
    // so that it is still RUNNING when the other claims; PGlite runs the two claims one after the
    // other before either applies anything.
    let release = () => {};
    let locked: Promise<void> = Promise.resolve();
    if (onPostgres) {
      const acquired = new Promise<void>((resolveAcquired) => {
        const held = new Promise<void>((resolveHeld) => {
          release = resolveHeld;
        });
        locked = t.database.db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(hashtext(${`groups:${tenant.id}`}))`.execute(trx);
          resolveAcquired();
          await held;
        });
      });
      await acquired;
    }
    const settled = [
      syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword)),
      syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword)),
    ].map((promise) =>
      promise.then(
        (value): PromiseSettledResult<LdapSyncRunRow> => ({ status: 'fulfilled', value }),
        (reason): PromiseSettledResult<LdapSyncRunRow> => ({ status: 'rejected', reason }),
      ),
    );
    await Promise.race(settled);
    release();
    await locked;
    const results = await Promise.all(settled);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(SyncAlreadyRunning);
    expect((rejected[0] as PromiseRejectedResult).reason.status).toBe(409);
    const runs = await t.database.db
      .selectFrom('ldap_sync_runs')
      .select('status')
      .where('tenant_id', '=', tenant.id)
      .execute();
    expect(runs).toEqual([{ status: 'SUCCEEDED' }]);
  });

  it('takes over a run whose lease expired (its instance died)', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd));
    const stale = newId('ldapSyncRun');
    await t.database.db
      .insertInto('ldap_sync_runs')
      .values({
        tenant_id: tenant.id,
        id: stale,
        identity_provider_id: provider.id,
        trigger: 'SCHEDULED',
        requested_by: null,
        finished_at: null,
        lease_until: new Date(Date.now() - 60_000),
        counts: JSON.stringify({}),
        error: null,
      })
      .execute();
    const run = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(run.status).toBe('SUCCEEDED');
    const old = await t.database.db
      .selectFrom('ldap_sync_runs')
      .select(['status', 'error'])
      .where('id', '=', stale)
      .executeTakeFirstOrThrow();
    expect(old.status).toBe('FAILED');
    expect(old.error).toMatch(/lease expired/);
  });

  it('disables a person that leaves the synced scope and re-enables it when it comes back', async () => {
    const tenant = await createTenant(t);
    const config = openLdapConfig(slapd);
    const provider = await ldapProvider(tenant, config);
    await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    const person = data.people[11];
    if (!person) throw new Error('no people');
    const narrowed = {
      ...provider,
      config: { ...config, user_filter: `(&(objectClass=inetOrgPerson)(!(uid=${person.uid})))` },
    };
    const without = await syncLdapDirectory(t.database.db, request(tenant, narrowed, data.servicePassword));
    const direct = data.groups.filter((g) => g.members.includes(person.dn)).length;
    expect(without.counts).toMatchObject({
      users_removed: 1,
      users_unchanged: data.expected.people - 1,
      memberships_removed: direct,
    });
    const row = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${person.uid}`);
    expect(row.body.data[0]).toMatchObject({ status: 'DISABLED' });

    const back = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(back.counts).toMatchObject({
      users_created: 0,
      users_updated: 1,
      users_removed: 0,
      users_unchanged: data.expected.people - 1,
      memberships_added: direct,
    });
    const again = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${person.uid}`);
    expect(again.body.data[0]).toMatchObject({ id: row.body.data[0].id, status: 'ACTIVE' });
    const link = await t.database.db
      .selectFrom('federated_identities')
      .select('removed_at')
      .where('user_id', '=', row.body.data[0].id)
      .executeTakeFirstOrThrow();
    expect(link.removed_at).toBeNull();
  });

  it('places users in an OU tree mirrored from their DN under the default OU', async () => {
    const tenant = await createTenant(t);
    const root = await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Directory' });
    expect(root.status).toBe(201);
    const rootId = root.body.data.id as string;
    const config = openLdapConfig(slapd, { ou_placement: 'DN' });
    const provider = { ...(await ldapProvider(tenant, config)), default_ou_id: rootId };
    const run = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(run.status).toBe('SUCCEEDED');
    const ous = await t.get(`/api/v1/tenants/${tenant.id}/ous?per_page=100`);
    const byPath = new Map((ous.body.data as { id: string; path: string }[]).map((ou) => [ou.path, ou.id]));
    expect([...byPath.keys()].sort()).toEqual([
      '/Directory',
      '/Directory/Engineering',
      '/Directory/Sales',
      '/Directory/Support',
    ]);
    for (const unit of ['Sales', 'Engineering', 'Support']) {
      const expected = data.people.filter((p) => p.units[1] === unit).length;
      expect(await userTotal(tenant, `&ou_id=${byPath.get(`/Directory/${unit}`)}`)).toBe(expected);
    }
    const again = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(again.counts).toMatchObject({ users_unchanged: data.expected.people, users_updated: 0 });
  });

  it('tests, syncs and lists runs through the identity providers admin API', async () => {
    const tenant = await createTenant(t);
    const { bind_dn, ...config } = openLdapConfig(slapd);
    const created = await t.post('/api/v1/admin/identity-providers/', {
      tenant_id: tenant.id,
      provider_type: 'LDAP',
      name: 'Corporate directory',
      config: { ...config, bind_dn, bind_password: data.servicePassword },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.data.id as string;

    const test = await t.post(`/api/v1/admin/identity-providers/${id}/test`, {});
    expect(test.status, JSON.stringify(test.body)).toBe(200);
    expect(JSON.stringify(test.body)).toContain(`${data.expected.people} users`);

    const sync = await t.post(`/api/v1/admin/identity-providers/${id}/sync`, {});
    expect(sync.status, JSON.stringify(sync.body)).toBeLessThan(300);
    expect(sync.body.data).toMatchObject({
      identity_provider_id: id,
      status: 'SUCCEEDED',
      trigger: 'MANUAL',
      counts: { users_created: data.expected.people, groups_created: data.expected.groups },
    });
    const runs = await t.get(`/api/v1/admin/identity-providers/${id}/sync-runs`);
    expect(runs.status).toBe(200);
    expect(runs.body.data.map((run: { id: string }) => run.id)).toEqual([sync.body.data.id]);
    expect(await userTotal(tenant)).toBe(data.expected.people);
  });

  it('syncs users only when the provider has no group base', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd, { group_base_dn: null }));
    const run = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(run.counts).toEqual({ ...ZERO, users_created: data.expected.people });
    expect(await groupsOf(tenant)).toHaveLength(0);
  });

  it('fails without writing anything when the service bind is refused', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd));
    const run = await syncLdapDirectory(t.database.db, request(tenant, provider, 'wrong-password'));
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/refused the service account/);
    expect(run.error).not.toContain('wrong-password');
    expect(run.counts).toEqual({});
    expect(await userTotal(tenant)).toBe(0);
    expect(await groupsOf(tenant)).toHaveLength(0);
    // A failed run does not block the next one.
    const next = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(next.status).toBe('SUCCEEDED');
  });
});

describe.skipIf(!slapdInstalled)('LDAP sync after directory changes', () => {
  const data = directoryData({ people: 300, locked: ['user00010'] });
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd(data);
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  it('applies a renamed, a deleted and a new person and a changed membership with exact counts', async () => {
    const tenant = await createTenant(t);
    const provider = await ldapProvider(tenant, openLdapConfig(slapd));
    const first = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(first.status).toBe('SUCCEEDED');
    const before = await effectiveSum(tenant);

    // People 6, 7, 8 are in no cycle group (only people 1 and 2 are).
    const [renamed, deleted, moved, locking, unlocking] = [5, 6, 7, 8, 9].map((i) => data.people[i]);
    if (!renamed || !deleted || !moved || !locking || !unlocking) throw new Error('no people');
    expect(unlocking.locked).toBe(true);
    const team = data.groups.find((g) => g.members.includes(moved.dn) && g.cn.startsWith('team-'));
    const newTeam = data.groups.find((g) => g.cn === 'team-sales-0');
    if (!team || !newTeam) throw new Error('no teams');
    const deletedDirect = data.groups.filter((g) => g.members.includes(deleted.dn)).length;

    // The person about to be locked in the directory has a sign-in session, the renamed one too.
    const sessionOf = async (uid: string) => {
      const found = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${uid}`);
      const userId = found.body.data[0].id as string;
      await t.database.db
        .insertInto('user_sessions')
        .values({
          tenant_id: tenant.id,
          id: newId('session'),
          user_id: userId,
          session_uid: newId('session'),
        })
        .execute();
      return userId;
    };
    const lockedId = await sessionOf(locking.uid);
    const renamedId = await sessionOf(renamed.uid);
    const sessionsOf = async (userId: string) =>
      (await t.database.db.selectFrom('user_sessions').select('id').where('user_id', '=', userId).execute())
        .length;

    const admin = new Client({ url: slapd.ldapsUrl, tlsOptions: { ca: slapd.caPem } });
    await admin.bind(data.adminDn, data.adminPassword);
    try {
      await admin.modify(renamed.dn, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'givenName', values: ['Renamed'] }),
        }),
      ]);
      await admin.del(deleted.dn);
      const newDn = `uid=new00001,ou=Sales,${data.peopleBase}`;
      await admin.add(newDn, {
        objectClass: 'inetOrgPerson',
        uid: 'new00001',
        cn: 'New Person',
        sn: 'Person',
        givenName: 'New',
        mail: 'new00001@example.org',
        userPassword: sshaHash(personPassword('new00001')),
      });
      await admin.modify(newTeam.dn, [
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [newDn] }) }),
      ]);
      await admin.modify(locking.dn, [
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }),
        }),
      ]);
      await admin.modify(unlocking.dn, [
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }),
        }),
      ]);
      await admin.modify(team.dn, [
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'member', values: [moved.dn] }),
        }),
      ]);
    } finally {
      await admin.unbind();
    }

    const second = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(second.status).toBe('SUCCEEDED');
    expect(second.counts).toEqual({
      ...ZERO,
      users_created: 1,
      // The renamed person, the moved one (its upstream groups changed) and the unlocked one.
      users_updated: 3,
      users_disabled: 1,
      users_removed: 1,
      users_unchanged: data.expected.people - 5,
      groups_unchanged: data.expected.groups,
      memberships_added: 1,
      memberships_removed: deletedDirect + 1,
      nested_groups_skipped: 1,
    });

    expect(await userTotal(tenant)).toBe(data.expected.people + 1);
    // The deleted and the newly locked person; the unlocked one is active again.
    expect(await userTotal(tenant, '&status=DISABLED')).toBe(2);
    expect(await sessionsOf(lockedId)).toBe(0);
    expect(await sessionsOf(renamedId)).toBe(1);
    const locked = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${locking.uid}`);
    expect(locked.body.data[0]).toMatchObject({ status: 'DISABLED' });
    const unlocked = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${unlocking.uid}`);
    expect(unlocked.body.data[0]).toMatchObject({ status: 'ACTIVE' });
    const gone = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${deleted.uid}`);
    expect(gone.body.data[0]).toMatchObject({ status: 'DISABLED' });
    const goneRow = await t.database.db
      .selectFrom('users')
      .select('status_reason')
      .where('id', '=', gone.body.data[0].id)
      .executeTakeFirstOrThrow();
    expect(goneRow.status_reason).toBe(REMOVED_FROM_DIRECTORY);
    const goneLink = await t.database.db
      .selectFrom('federated_identities')
      .select('removed_at')
      .where('user_id', '=', gone.body.data[0].id)
      .executeTakeFirstOrThrow();
    expect(goneLink.removed_at).not.toBeNull();
    const renamedRow = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${renamed.uid}`);
    const renamedUser = await t.get(`/api/v1/tenants/${tenant.id}/users/${renamedRow.body.data[0].id}`);
    expect(renamedUser.body.data.first_name).toBe('Renamed');
    // The deleted person leaves team, department and all-staff (and any project group); the moved
    // one leaves its team, department and all-staff; the new one joins team, department, all-staff.
    expect(await effectiveSum(tenant)).toBe(before - data.effectiveGroupsOf(deleted.dn).size - 3 + 3);
    expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });

    // A third sync without directory changes changes nothing (the removed user stays removed).
    const third = await syncLdapDirectory(t.database.db, request(tenant, provider, data.servicePassword));
    expect(third.counts).toEqual({
      ...ZERO,
      users_unchanged: data.expected.people - 1 + 1,
      groups_unchanged: data.expected.groups,
      nested_groups_skipped: 1,
    });
  });
});

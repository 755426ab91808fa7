import { Attribute, Change, Client, InvalidCredentialsError, StrongAuthRequiredError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupClosureDrift } from '../src/modules/groups/index.js';
import {
  ACTIVE_DIRECTORY_PRESET,
  accountDisabled,
  accountExpired,
  encryptionRequired,
  LDAP_MATCHING_RULE_IN_CHAIN,
  toFileTime,
} from '../src/protocols/federation/ldap/active-directory.js';
import {
  authenticate,
  connect,
  DirectoryUnavailable,
  normalizeDn,
  resolveMemberships,
  searchGroups,
  searchUsers,
  testConnection,
} from '../src/protocols/federation/ldap/directory.js';
import {
  DISABLED_IN_DIRECTORY,
  emptyCounts,
  type LdapSyncProvider,
  type LdapSyncRequest,
  syncLdapDirectory,
} from '../src/protocols/federation/ldap/sync.js';
import type { LdapProviderConfig } from '../src/protocols/federation/types.js';
import {
  type AdSeedResult,
  createServiceAccount,
  defaultAdSpec,
  seedActiveDirectory,
  setAccountEnabled,
} from './helpers/ad-seed.js';
import { createTenant, type Tenant } from './helpers/factories.js';
import { type SambaAd, sambaInstalled, startSambaAd } from './helpers/samba-ad.js';
import { insertLdapProviderRow } from './helpers/slapd.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 15: Active Directory behaviour against a real Samba AD DC that this file provisions and
// starts (tests/helpers/samba-ad.ts), seeded over LDAPS (tests/helpers/ad-seed.ts).

const IN_CHAIN = LDAP_MATCHING_RULE_IN_CHAIN;
const USER_FILTER = ACTIVE_DIRECTORY_PRESET.user_filter;
const SERVICE_ACCOUNT = 'svc-scaikey';
const SERVICE_PASSWORD = 'Svc-Acc0unt-Pass!';

const t = useTestApp();
const origin = { actorType: 'system', actorId: null, ipAddress: null, requestId: null };

let ad: SambaAd;
let seeded: AdSeedResult;
let admin: Client;
let serviceDn: string;

/** The AD preset with this DC's address, CA, service account and OUs (pages of 20: 50 users need three). */
function adConfig(overrides: Partial<LdapProviderConfig> = {}): LdapProviderConfig {
  return {
    ...ACTIVE_DIRECTORY_PRESET,
    url: ad.ldapsUrl,
    tls_ca_certificate: ad.caPem,
    bind_dn: serviceDn,
    user_base_dn: seeded.ouDn('Staff'),
    group_base_dn: seeded.ouDn('Groups'),
    sync_interval_minutes: 0,
    page_size: 20,
    timeout_ms: 10_000,
    ...overrides,
  };
}

function passwordOf(sAMAccountName: string): string {
  const user = seeded.spec.users.find((entry) => entry.sAMAccountName === sAMAccountName);
  if (!user) throw new Error(`no ${sAMAccountName} in the spec`);
  return user.password;
}

/** The objectGUID `samba-tool user|group show` prints (its own GUID string rendering). */
async function shownGuid(kind: 'user' | 'group', name: string): Promise<string> {
  const shown = await ad.sambaTool([kind, 'show', name, '--attributes=objectGUID']);
  const guid = /objectGUID: ([0-9a-f-]{36})/.exec(shown)?.[1];
  if (!guid) throw new Error(`samba-tool ${kind} show ${name} printed no objectGUID`);
  return guid;
}

/** The GUID string form of AD's objectGUID bytes: the first three fields little-endian (MS-DTYP 2.3.4.2). */
function guidString(bytes: Buffer): string {
  const hex = (buffer: Buffer) => buffer.toString('hex');
  const reversed = (start: number, end: number) => hex(Buffer.from(bytes.subarray(start, end)).reverse());
  return `${reversed(0, 4)}-${reversed(4, 6)}-${reversed(6, 8)}-${hex(bytes.subarray(8, 10))}-${hex(bytes.subarray(10, 16))}`;
}

/** An LDAP identity provider row of `tenant` with the AD preset (what the admin API would store). */
async function adProvider(
  tenant: Tenant,
  config: LdapProviderConfig = adConfig(),
): Promise<LdapSyncProvider> {
  const id = await insertLdapProviderRow(t.database.db, tenant.id, 'Active Directory', config);
  return { id, config, default_ou_id: null };
}

function syncRequest(tenant: Tenant, provider: LdapSyncProvider): LdapSyncRequest {
  return { tenantId: tenant.id, provider, bindPassword: SERVICE_PASSWORD, trigger: 'MANUAL', origin };
}

const NO_CHANGES = emptyCounts();

async function userTotal(tenant: Tenant, query = ''): Promise<number> {
  const response = await t.get(`/api/v1/tenants/${tenant.id}/users?per_page=1${query}`);
  expect(response.status).toBe(200);
  return response.body.pagination.total_items as number;
}

/** The ScaiKey user synced from `sAMAccountName` (found by its email), with its status reason. */
async function syncedUser(tenant: Tenant, sAMAccountName: string) {
  const email = `${sAMAccountName}@${ad.realm.toLowerCase()}`;
  const found = await t.get(`/api/v1/tenants/${tenant.id}/users?search=${encodeURIComponent(email)}`);
  expect(found.status).toBe(200);
  expect(found.body.data).toHaveLength(1);
  const id = found.body.data[0].id as string;
  const row = await t.database.db
    .selectFrom('users')
    .select(['id', 'status', 'status_reason', 'identity_source'])
    .where('tenant_id', '=', tenant.id)
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  const link = await t.database.db
    .selectFrom('federated_identities')
    .select(['subject', 'external_dn', 'upstream_groups', 'removed_at'])
    .where('tenant_id', '=', tenant.id)
    .where('user_id', '=', id)
    .executeTakeFirstOrThrow();
  return { ...row, link };
}

describe.runIf(sambaInstalled)('Active Directory (Samba AD DC)', () => {
  beforeAll(async () => {
    ad = await startSambaAd();
    admin = ad.client();
    await admin.bind(ad.adminDn, ad.adminPassword);
    seeded = await seedActiveDirectory(admin, defaultAdSpec(ad.baseDn, ad.realm.toLowerCase()));
    serviceDn = await createServiceAccount(admin, ad.baseDn, SERVICE_ACCOUNT, SERVICE_PASSWORD);
  }, 240_000);

  afterAll(async () => {
    await admin?.unbind();
    await ad?.stop();
  });

  describe('as the DC answers (ldapts)', () => {
    it('refuses a simple bind over plain ldap:// with strongAuthRequired', async () => {
      const plain = new Client({ url: ad.ldapUrl, connectTimeout: 5000 });
      try {
        const refused = await plain.bind(ad.adminDn, ad.adminPassword).then(
          () => null,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(StrongAuthRequiredError);
        expect(encryptionRequired(refused)).toBe(true);
        expect(encryptionRequired(new InvalidCredentialsError())).toBe(false);
      } finally {
        await plain.unbind();
      }
    });

    it('finds exactly the seeded users, disabled users and groups', async () => {
      const staff = seeded.ouDn('Staff');
      const users = await admin.search(staff, {
        filter: USER_FILTER,
        attributes: ['1.1'],
        paged: { pageSize: 20 },
      });
      expect(users.searchEntries).toHaveLength(seeded.users);
      const disabled = await admin.search(staff, {
        filter: `(&${USER_FILTER}(userAccountControl:1.2.840.113556.1.4.803:=2))`,
        attributes: ['sAMAccountName'],
      });
      expect(disabled.searchEntries.map((entry) => entry.sAMAccountName).sort()).toEqual([
        'user05',
        'user25',
        'user45',
      ]);
      expect(disabled.searchEntries).toHaveLength(seeded.disabledUsers);
      const groups = await admin.search(seeded.ouDn('Groups'), {
        filter: '(objectClass=group)',
        attributes: ['1.1'],
      });
      expect(groups.searchEntries).toHaveLength(seeded.groups);
    });

    it('decodes objectGUID to the GUID string samba-tool shows', async () => {
      const { searchEntries } = await admin.search(seeded.userDn('user07'), {
        scope: 'base',
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
      });
      const bytes = searchEntries[0]?.objectGUID as Buffer;
      const shown = await ad.sambaTool(['user', 'show', 'user07', '--attributes=objectGUID']);
      expect(shown).toMatch(/objectGUID: [0-9a-f-]{36}/);
      expect(guidString(bytes)).toBe(/objectGUID: ([0-9a-f-]{36})/.exec(shown)?.[1]);
    });

    it('gives a user its transitive groups through IN_CHAIN, the same as following member', async () => {
      const userDn = seeded.userDn('user01');
      const inChain = await admin.search(seeded.ouDn('Groups'), {
        filter: `(member:${IN_CHAIN}:=${userDn})`,
        attributes: ['1.1'],
      });
      const byChain = inChain.searchEntries.map((entry) => entry.dn).sort();
      expect(byChain).toEqual(seeded.transitiveGroupDns('user01'));
      expect(byChain).toHaveLength(4);
      // A CN with a comma and parentheses: the DN as AD escapes it, matched as a filter value.
      const escaped = await admin.search(seeded.ouDn('Groups'), {
        filter: `(member:${IN_CHAIN}:=${seeded.userDn('user50').replace(/[\\()*]/g, (c) => `\\${c.charCodeAt(0).toString(16)}`)})`,
        attributes: ['1.1'],
      });
      expect(escaped.searchEntries.map((entry) => entry.dn).sort()).toEqual(
        seeded.transitiveGroupDns('user50'),
      );
    });

    it('binds as a user by DN and by userPrincipalName, and refuses a wrong password and a disabled account', async () => {
      const spec = seeded.spec.users;
      const user = spec.find((entry) => entry.sAMAccountName === 'user12');
      const disabled = spec.find((entry) => entry.sAMAccountName === 'user25');
      if (!user || !disabled) throw new Error('spec changed');
      const attempt = async (name: string, password: string) => {
        const client = ad.client();
        try {
          await client.bind(name, password);
        } finally {
          await client.unbind();
        }
      };
      await expect(attempt(seeded.userDn('user12'), user.password)).resolves.toBeUndefined();
      await expect(attempt(`user12@${ad.realm.toLowerCase()}`, user.password)).resolves.toBeUndefined();
      await expect(attempt(seeded.userDn('user12'), `${user.password}x`)).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
      await expect(attempt(seeded.userDn('user25'), disabled.password)).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
    });
  });

  describe('through the LDAP adapter with the AD preset', () => {
    it('refuses a plain bind itself, and with allow_plain_bind the DC refuses it (strongAuthRequired)', async () => {
      const plain = adConfig({ url: ad.ldapUrl });
      await expect(connect(plain, SERVICE_PASSWORD)).rejects.toMatchObject({
        failure: 'PLAIN_BIND_REFUSED',
      });
      await expect(
        authenticate(plain, SERVICE_PASSWORD, 'user12', passwordOf('user12')),
      ).rejects.toBeInstanceOf(DirectoryUnavailable);
      const allowed = adConfig({ url: ad.ldapUrl, allow_plain_bind: true });
      const refused = await connect(allowed, SERVICE_PASSWORD).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(DirectoryUnavailable);
      // Samba says "BindSimple: Transport encryption required" (strongAuthRequired, result code 8).
      expect((refused as DirectoryUnavailable).detail).toMatch(/encryption required/i);
      expect((refused as DirectoryUnavailable).failure).toBe('PLAIN_BIND_REFUSED');
    });

    it('passes every connection check over LDAPS as an ordinary domain user', async () => {
      const checks = await testConnection(adConfig(), SERVICE_PASSWORD);
      expect(checks.map((check) => [check.name, check.ok])).toEqual([
        ['connect', true],
        ['tls', true],
        ['service_bind', true],
        ['user_search', true],
        ['group_search', true],
      ]);
      expect(checks.find((check) => check.name === 'user_search')?.detail).toMatch(/^50 users /);
      expect(checks.find((check) => check.name === 'group_search')?.detail).toMatch(/^7 groups /);
    });

    it('says the service account was refused when its password is wrong', async () => {
      await expect(connect(adConfig(), `${SERVICE_PASSWORD}x`)).rejects.toMatchObject({
        failure: 'SERVICE_BIND_REJECTED',
      });
    });

    it('reads exactly the seeded users (in pages) and groups, with userAccountControl 514 as disabled', async () => {
      const client = await connect(adConfig(), SERVICE_PASSWORD);
      try {
        const users = await searchUsers(client, adConfig());
        expect(users).toHaveLength(seeded.users);
        expect(new Set(users.map((user) => user.id)).size).toBe(seeded.users);
        expect(users.filter((user) => user.disabled).map((user) => user.login)).toEqual(
          expect.arrayContaining(['user05', 'user25', 'user45']),
        );
        expect(users.filter((user) => user.disabled)).toHaveLength(seeded.disabledUsers);
        const user50 = users.find((user) => user.login === 'user50');
        expect(user50?.dn).toBe(seeded.userDn('user50'));
        expect(user50?.email).toBe(`user50@${ad.realm.toLowerCase()}`);
        expect(user50?.attributes).not.toHaveProperty('unicodePwd');
        const groups = await searchGroups(client, adConfig());
        expect(groups.map((group) => group.name).sort()).toEqual(
          seeded.spec.groups.map((group) => group.name).sort(),
        );
      } finally {
        await client.unbind();
      }
    });

    it('turns objectGUID into the GUID string samba-tool shows, for users and groups', async () => {
      const client = await connect(adConfig(), SERVICE_PASSWORD);
      try {
        const users = await searchUsers(client, adConfig());
        const groups = await searchGroups(client, adConfig());
        expect(users.find((user) => user.login === 'user07')?.id).toBe(await shownGuid('user', 'user07'));
        expect(groups.find((group) => group.name === 'All Staff')?.id).toBe(
          await shownGuid('group', 'All Staff'),
        );
      } finally {
        await client.unbind();
      }
    });

    it('resolves transitive groups with IN_CHAIN exactly as EXPAND and as the sync does', async () => {
      const client = await connect(adConfig(), SERVICE_PASSWORD);
      const users = await searchUsers(client, adConfig());
      const groups = await searchGroups(client, adConfig());
      await client.unbind();
      const memberships = resolveMemberships(users, groups, adConfig());
      for (const sAMAccountName of ['user01', 'user02', 'user12', 'user37', 'user50']) {
        const password = passwordOf(sAMAccountName);
        const inChain = await authenticate(adConfig(), SERVICE_PASSWORD, sAMAccountName, password);
        const expand = await authenticate(
          adConfig({ nested_groups: 'EXPAND' }),
          SERVICE_PASSWORD,
          sAMAccountName,
          password,
        );
        const expected = seeded.transitiveGroupDns(sAMAccountName);
        expect(inChain?.groups.slice().sort()).toEqual(expected);
        expect(expand?.groups.slice().sort()).toEqual(expected);
        expect(
          memberships.effective
            .get(normalizeDn(seeded.userDn(sAMAccountName)))
            ?.slice()
            .sort(),
        ).toEqual(expected);
      }
      // Three levels: user01 → Platform Team → Engineering → All Staff, and VPN Users directly.
      expect(seeded.transitiveGroupDns('user01')).toHaveLength(4);
    });

    it('signs in by bind-through with sAMAccountName or userPrincipalName as the login', async () => {
      const bySam = await authenticate(adConfig(), SERVICE_PASSWORD, 'user12', passwordOf('user12'));
      expect(bySam).toMatchObject({
        subject: await shownGuid('user', 'user12'),
        email: `user12@${ad.realm.toLowerCase()}`,
        emailVerified: true,
        dn: seeded.userDn('user12'),
      });
      const byUpn = await authenticate(
        adConfig({ login_attribute: 'userPrincipalName' }),
        SERVICE_PASSWORD,
        `user12@${ad.realm.toLowerCase()}`,
        passwordOf('user12'),
      );
      expect(byUpn?.subject).toBe(bySam?.subject);
    });

    it('refuses a wrong password, an empty one, and a disabled account', async () => {
      expect(
        await authenticate(adConfig(), SERVICE_PASSWORD, 'user12', `${passwordOf('user12')}x`),
      ).toBeNull();
      expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user12', '')).toBeNull();
      expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user25', passwordOf('user25'))).toBeNull();
    });

    it('stops signing in a user once AD disables it (514), and again once enabled (512)', async () => {
      const dn = seeded.userDn('user30');
      expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user30', passwordOf('user30'))).not.toBeNull();
      await setAccountEnabled(admin, dn, false);
      try {
        expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user30', passwordOf('user30'))).toBeNull();
        const client = await connect(adConfig(), SERVICE_PASSWORD);
        const users = await searchUsers(client, adConfig());
        await client.unbind();
        expect(users.find((user) => user.login === 'user30')?.disabled).toBe(true);
      } finally {
        await setAccountEnabled(admin, dn, true);
      }
      expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user30', passwordOf('user30'))).not.toBeNull();
    });

    it('reads an expired account (accountExpires past) as expired, and AD refuses its bind', async () => {
      const dn = seeded.userDn('user31');
      const setExpiry = (value: string) =>
        admin.modify(
          dn,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'accountExpires', values: [value] }),
          }),
        );
      await setExpiry(toFileTime(new Date(Date.now() - 24 * 3600 * 1000)));
      try {
        expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user31', passwordOf('user31'))).toBeNull();
        const client = await connect(adConfig(), SERVICE_PASSWORD);
        const users = await searchUsers(client, adConfig());
        await client.unbind();
        const user31 = users.find((user) => user.login === 'user31');
        expect(accountExpired(user31?.attributes.accountExpires as string, new Date())).toBe(true);
        const state = (login: string) => {
          const attributes = users.find((user) => user.login === login)?.attributes ?? {};
          return accountDisabled(
            attributes.userAccountControl as string,
            attributes.accountExpires as string,
            new Date(),
          );
        };
        expect([state('user31'), state('user25'), state('user12')]).toEqual([true, true, false]);
        expect(
          accountExpired(
            users.find((user) => user.login === 'user32')?.attributes.accountExpires as string,
            new Date(),
          ),
        ).toBe(false);
      } finally {
        await setExpiry('0');
      }
      expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user31', passwordOf('user31'))).not.toBeNull();
    });

    it('keeps the subject (objectGUID) when AD moves a user to another OU', async () => {
      const before = await authenticate(adConfig(), SERVICE_PASSWORD, 'user33', passwordOf('user33'));
      const from = seeded.userDn('user33');
      const moved = from.replace(seeded.ouDn('Staff/Sales'), seeded.ouDn('Staff/Support'));
      await admin.modifyDN(from, moved);
      try {
        const after = await authenticate(adConfig(), SERVICE_PASSWORD, 'user33', passwordOf('user33'));
        expect(after?.dn).toBe(moved);
        expect(after?.subject).toBe(before?.subject);
        // AD keeps group membership across the move (the groups' member values follow the entry).
        expect(after?.groups.slice().sort()).toEqual(seeded.transitiveGroupDns('user33'));
      } finally {
        await admin.modifyDN(moved, from);
      }
    });
  });

  describe('synced into ScaiKey', () => {
    it('mirrors exactly the AD users, groups, memberships and nestings on the first sync', async () => {
      const tenant = await createTenant(t);
      const run = await syncLdapDirectory(t.database.db, syncRequest(tenant, await adProvider(tenant)));
      expect(run.error).toBeNull();
      expect(run.status).toBe('SUCCEEDED');
      expect(run.counts).toEqual({
        ...NO_CHANGES,
        users_created: seeded.users,
        groups_created: seeded.groups,
        memberships_added: seeded.userMemberships,
        nested_groups_added: seeded.groupNestings,
      });
      expect(await userTotal(tenant)).toBe(seeded.users);
      expect(await userTotal(tenant, '&status=ACTIVE')).toBe(seeded.enabledUsers);
      expect(await userTotal(tenant, '&status=DISABLED')).toBe(seeded.disabledUsers);
      expect(await syncedUser(tenant, 'user25')).toMatchObject({
        status: 'DISABLED',
        status_reason: DISABLED_IN_DIRECTORY,
      });
      const user07 = await syncedUser(tenant, 'user07');
      expect(user07).toMatchObject({ status: 'ACTIVE', identity_source: 'LDAP' });
      expect(user07.link.subject).toBe(await shownGuid('user', 'user07'));
      const user01 = await syncedUser(tenant, 'user01');
      expect((user01.link.upstream_groups as unknown as string[]).slice().sort()).toEqual(
        seeded.transitiveGroupDns('user01'),
      );
      const groups = await t.get(`/api/v1/tenants/${tenant.id}/groups?per_page=100`);
      const allStaff = (groups.body.data as { id: string; name: string }[]).find(
        (group) => group.name === 'All Staff',
      );
      const effective = await t.get(`/api/v1/admin/groups/${allStaff?.id}/effective-members?per_page=1`);
      expect(effective.body.pagination.total_items).toBe(seeded.users);
      expect(await groupClosureDrift(t.database.db, tenant.id)).toEqual({ closure: [], effective: [] });
    });

    it('disables a user on the next sync once AD disables it (514), and enables it again at 512', async () => {
      const tenant = await createTenant(t);
      const provider = await adProvider(tenant);
      expect((await syncLdapDirectory(t.database.db, syncRequest(tenant, provider))).status).toBe(
        'SUCCEEDED',
      );
      expect(await syncedUser(tenant, 'user30')).toMatchObject({ status: 'ACTIVE' });
      // A sign-in in between changes AD's logon bookkeeping (logonCount, lastLogon) but no synced field.
      expect(await authenticate(adConfig(), SERVICE_PASSWORD, 'user12', passwordOf('user12'))).not.toBeNull();
      const dn = seeded.userDn('user30');
      await setAccountEnabled(admin, dn, false);
      try {
        const second = await syncLdapDirectory(t.database.db, syncRequest(tenant, provider));
        expect(second.counts).toEqual({
          ...NO_CHANGES,
          users_disabled: 1,
          users_unchanged: seeded.users - 1,
          groups_unchanged: seeded.groups,
        });
        expect(await syncedUser(tenant, 'user30')).toMatchObject({
          status: 'DISABLED',
          status_reason: DISABLED_IN_DIRECTORY,
        });
        expect(await userTotal(tenant, '&status=DISABLED')).toBe(seeded.disabledUsers + 1);
      } finally {
        await setAccountEnabled(admin, dn, true);
      }
      const third = await syncLdapDirectory(t.database.db, syncRequest(tenant, provider));
      expect(third.counts).toEqual({
        ...NO_CHANGES,
        users_updated: 1,
        users_unchanged: seeded.users - 1,
        groups_unchanged: seeded.groups,
      });
      expect(await syncedUser(tenant, 'user30')).toMatchObject({ status: 'ACTIVE', status_reason: null });
    });

    it('keeps the same ScaiKey user when AD moves the entry to another OU', async () => {
      const tenant = await createTenant(t);
      const provider = await adProvider(tenant);
      await syncLdapDirectory(t.database.db, syncRequest(tenant, provider));
      const before = await syncedUser(tenant, 'user34');
      const from = seeded.userDn('user34');
      const moved = from.replace(seeded.ouDn('Staff/Sales'), seeded.ouDn('Staff/Engineering'));
      await admin.modifyDN(from, moved);
      try {
        const second = await syncLdapDirectory(t.database.db, syncRequest(tenant, provider));
        expect(second.counts).toEqual({
          ...NO_CHANGES,
          users_updated: 1,
          users_unchanged: seeded.users - 1,
          groups_unchanged: seeded.groups,
        });
        const after = await syncedUser(tenant, 'user34');
        expect(after.id).toBe(before.id);
        expect(after.link.subject).toBe(before.link.subject);
        expect(after.link.external_dn).toBe(moved);
      } finally {
        await admin.modifyDN(moved, from);
      }
    });

    it('places users in the OU tree of their AD DN (OU= in capitals) under the default OU', async () => {
      const tenant = await createTenant(t);
      const root = await t.post(`/api/v1/tenants/${tenant.id}/ous`, { name: 'Active Directory' });
      expect(root.status).toBe(201);
      const provider = { ...(await adProvider(tenant)), default_ou_id: root.body.data.id as string };
      expect((await syncLdapDirectory(t.database.db, syncRequest(tenant, provider))).status).toBe(
        'SUCCEEDED',
      );
      const ous = await t.get(`/api/v1/tenants/${tenant.id}/ous?per_page=100`);
      const byPath = new Map((ous.body.data as { id: string; path: string }[]).map((ou) => [ou.path, ou.id]));
      expect([...byPath.keys()].sort()).toEqual([
        '/Active Directory',
        '/Active Directory/Engineering',
        '/Active Directory/Engineering/Platform',
        '/Active Directory/Sales',
        '/Active Directory/Support',
      ]);
      const usersIn = (ou: string) => seeded.spec.users.filter((user) => user.ou === ou).length;
      for (const [path, ou] of [
        ['/Active Directory/Engineering/Platform', 'Staff/Engineering/Platform'],
        ['/Active Directory/Sales', 'Staff/Sales'],
        ['/Active Directory/Support', 'Staff/Support'],
      ] as const) {
        expect(await userTotal(tenant, `&ou_id=${byPath.get(path)}`)).toBe(usersIn(ou));
      }
    });
  });
});

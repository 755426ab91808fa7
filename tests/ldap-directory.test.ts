import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticate,
  connect,
  DirectoryUnavailable,
  normalizeDn,
  objectGuidToUuid,
  ouPathFromDn,
  resolveMemberships,
  searchGroups,
  searchUsers,
  testConnection,
} from '../src/protocols/federation/ldap/directory.js';
import { directoryData } from './helpers/directory-data.js';
import { openLdapConfig, type Slapd, slapdInstalled, startSlapd } from './helpers/slapd.js';

// Issue 15: the LDAP adapter against a real OpenLDAP slapd started here (ldaps and StartTLS).
describe.skipIf(!slapdInstalled)('LDAP directory adapter (OpenLDAP)', () => {
  const data = directoryData({ people: 300, locked: ['user00010'] });
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd(data);
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  async function failureOf(promise: Promise<unknown>): Promise<DirectoryUnavailable> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DirectoryUnavailable);
    return error as DirectoryUnavailable;
  }

  it('reads every person over LDAPS with a stable entryUUID, login, email and names', async () => {
    const config = openLdapConfig(slapd);
    const client = await connect(config, data.servicePassword);
    try {
      const users = await searchUsers(client, config);
      expect(users).toHaveLength(data.expected.people);
      expect(new Set(users.map((u) => u.id)).size).toBe(data.expected.people);
      const first = users.find((u) => u.login === data.people[0]?.uid);
      expect(first).toMatchObject({
        dn: data.people[0]?.dn,
        email: data.people[0]?.mail,
        givenName: data.people[0]?.givenName,
        familyName: data.people[0]?.sn,
        displayName: data.people[0]?.displayName,
        disabled: false,
      });
      expect(first?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(first?.attributes.userPassword).toBeUndefined();
    } finally {
      await client.unbind();
    }
  });

  it('reports a person locked by the password policy (pwdAccountLockedTime) as disabled, and refuses its sign-in', async () => {
    const config = openLdapConfig(slapd);
    const client = await connect(config, data.servicePassword);
    try {
      const users = await searchUsers(client, config);
      expect(users.filter((u) => u.disabled).map((u) => u.login)).toEqual(['user00010']);
    } finally {
      await client.unbind();
    }
    const locked = data.people.find((p) => p.uid === 'user00010');
    expect(await authenticate(config, data.servicePassword, 'user00010', locked?.password ?? '')).toBeNull();
  });

  it('decodes non-ASCII names (base64 in the LDIF) as UTF-8', async () => {
    const config = openLdapConfig(slapd);
    const client = await connect(config, data.servicePassword);
    try {
      const users = await searchUsers(client, config);
      const zoe = data.people.find((p) => p.givenName === 'Zoë');
      expect(users.find((u) => u.dn === zoe?.dn)?.givenName).toBe('Zoë');
    } finally {
      await client.unbind();
    }
  });

  it('upgrades the plain port with StartTLS and reads the same people', async () => {
    const config = openLdapConfig(slapd, { url: slapd.url, start_tls: true });
    const client = await connect(config, data.servicePassword);
    try {
      expect(await searchUsers(client, config)).toHaveLength(data.expected.people);
    } finally {
      await client.unbind();
    }
  });

  it('refuses a bind over a plain connection unless plain binds are allowed', async () => {
    const plain = openLdapConfig(slapd, { url: slapd.url });
    const refused = await failureOf(connect(plain, data.servicePassword));
    expect(refused.failure).toBe('PLAIN_BIND_REFUSED');
    expect(refused.detail).toMatch(/unencrypted/);
    const client = await connect({ ...plain, allow_plain_bind: true }, data.servicePassword);
    await client.unbind();
  });

  it('fails TLS when the directory certificate is not signed by a trusted CA', async () => {
    const failure = await failureOf(
      connect(openLdapConfig(slapd, { tls_ca_certificate: null }), data.servicePassword),
    );
    expect(failure.failure).toBe('TLS');
  });

  it('says the service account was refused when its password is wrong', async () => {
    const failure = await failureOf(connect(openLdapConfig(slapd), 'not-the-password'));
    expect(failure.failure).toBe('SERVICE_BIND_REJECTED');
    expect(failure.detail).not.toContain('not-the-password');
  });

  it('refuses an empty service password (it would be an anonymous bind)', async () => {
    const failure = await failureOf(connect(openLdapConfig(slapd), ''));
    expect(failure.failure).toBe('SERVICE_BIND_REJECTED');
  });

  it('reads every group and expands nested groups to exact direct and effective memberships', async () => {
    const config = openLdapConfig(slapd, { page_size: 5 });
    const client = await connect(config, data.servicePassword);
    try {
      const users = await searchUsers(client, config);
      const groups = await searchGroups(client, config);
      expect(groups).toHaveLength(data.expected.groups);
      const memberships = resolveMemberships(users, groups, config);
      const sum = (map: Map<string, string[]>) => [...map.values()].reduce((n, list) => n + list.length, 0);
      expect(sum(memberships.direct)).toBe(data.expected.directMemberships);
      expect(sum(memberships.effective)).toBe(data.expected.effectiveMemberships);
      expect(memberships.groupEdges).toHaveLength(data.expected.groupEdges);
      const person = data.people[0];
      const effective = memberships.effective.get(normalizeDn(person?.dn ?? ''));
      expect(new Set(effective?.map(normalizeDn))).toEqual(
        new Set([...data.effectiveGroupsOf(person?.dn ?? '')].map(normalizeDn)),
      );

      const flat = resolveMemberships(users, groups, { ...config, nested_groups: 'NONE' });
      expect(flat.groupEdges).toHaveLength(0);
      expect(sum(flat.effective)).toBe(data.expected.directMemberships);
    } finally {
      await client.unbind();
    }
  });

  it('signs a user in by bind-through with the right password, with the effective groups', async () => {
    const person = data.people[0];
    if (!person) throw new Error('no people');
    const config = openLdapConfig(slapd);
    const identity = await authenticate(config, data.servicePassword, person.uid, person.password);
    expect(identity).toMatchObject({ dn: person.dn, email: person.mail, emailVerified: true });
    expect(identity?.subject).toMatch(/^[0-9a-f-]{36}$/);
    // cycle-a ⇄ cycle-b holds the first people: the walk stops on the cycle.
    expect(new Set(identity?.groups.map(normalizeDn))).toEqual(
      new Set([...data.effectiveGroupsOf(person.dn)].map(normalizeDn)),
    );
    expect(identity?.groups.length).toBeGreaterThanOrEqual(5);

    const client = await connect(config, data.servicePassword);
    try {
      const users = await searchUsers(client, config);
      expect(identity?.subject).toBe(users.find((u) => u.dn === person.dn)?.id);
    } finally {
      await client.unbind();
    }
  });

  it('gives only direct groups at sign-in when nested groups are off', async () => {
    const person = data.people[3];
    if (!person) throw new Error('no people');
    const identity = await authenticate(
      openLdapConfig(slapd, { nested_groups: 'NONE' }),
      data.servicePassword,
      person.uid,
      person.password,
    );
    const direct = data.groups.filter((g) => g.members.includes(person.dn)).map((g) => normalizeDn(g.dn));
    expect(new Set(identity?.groups.map(normalizeDn))).toEqual(new Set(direct));
  });

  it('answers null for a wrong password, an unknown login and an empty password', async () => {
    const person = data.people[1];
    if (!person) throw new Error('no people');
    const config = openLdapConfig(slapd, { url: slapd.url, start_tls: true });
    expect(await authenticate(config, data.servicePassword, person.uid, 'wrong-password')).toBeNull();
    expect(await authenticate(config, data.servicePassword, 'nobody-here', person.password)).toBeNull();
    expect(await authenticate(config, data.servicePassword, person.uid, '')).toBeNull();
    expect(await authenticate(config, data.servicePassword, person.uid, person.password)).not.toBeNull();
  });

  it('signs in by email when the login attribute is mail', async () => {
    const person = data.people[2];
    if (!person) throw new Error('no people');
    const config = openLdapConfig(slapd, { login_attribute: 'mail' });
    const identity = await authenticate(config, data.servicePassword, person.mail, person.password);
    expect(identity?.dn).toBe(person.dn);
  });

  it('treats filter syntax in the login as a value (RFC 4515): an injection finds nobody', async () => {
    const person = data.people[0];
    if (!person) throw new Error('no people');
    const config = openLdapConfig(slapd);
    for (const login of ['*', '*)(uid=*', `${person.uid})(|(uid=*`, `*)(objectClass=*`, 'user0000*']) {
      expect(await authenticate(config, data.servicePassword, login, person.password)).toBeNull();
    }
  });

  it('reports each connection check with what it found', async () => {
    const checks = await testConnection(openLdapConfig(slapd), data.servicePassword);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['connect', true],
      ['tls', true],
      ['service_bind', true],
      ['user_search', true],
      ['group_search', true],
    ]);
    expect(checks[3]?.detail).toContain(`${data.expected.people} users`);
    expect(checks[4]?.detail).toContain(`${data.expected.groups} groups`);

    const startTls = await testConnection(
      openLdapConfig(slapd, { url: slapd.url, start_tls: true }),
      data.servicePassword,
    );
    expect(startTls.every((c) => c.ok)).toBe(true);
  });

  it('says which check failed: service bind, TLS, plain connection', async () => {
    const wrongPassword = await testConnection(openLdapConfig(slapd), 'wrong');
    expect(wrongPassword.at(-1)).toMatchObject({ name: 'service_bind', ok: false });
    const untrusted = await testConnection(
      openLdapConfig(slapd, { tls_ca_certificate: null }),
      data.servicePassword,
    );
    expect(untrusted.at(-1)).toMatchObject({ name: 'tls', ok: false });
    const plain = await testConnection(openLdapConfig(slapd, { url: slapd.url }), data.servicePassword);
    expect(plain.at(-1)).toMatchObject({ name: 'tls', ok: false });
  });

  it('reads the OU path of an entry below the base from its DN, escapes undone', () => {
    const base = 'ou=People,dc=example,dc=org';
    expect(ouPathFromDn(`uid=a,ou=East,ou=Sales,${base}`, base)).toEqual(['Sales', 'East']);
    expect(ouPathFromDn('uid=a,OU=Sales\\, EMEA,cn=Staff,OU=People,DC=example,DC=org', base)).toEqual([
      'Sales, EMEA',
    ]);
    expect(ouPathFromDn(`uid=a,ou=R\\C3\\A9seau,${base}`, base)).toEqual(['Réseau']);
    expect(ouPathFromDn(`uid=a,${base}`, base)).toEqual([]);
    expect(ouPathFromDn('uid=a,ou=Sales,dc=other,dc=org', base)).toEqual([]);
  });

  it('converts an AD objectGUID to the UUID string AD shows (little-endian first fields)', () => {
    const bytes = Buffer.from('2b0b7a4c7e1f4d45a1b2c3d4e5f60718', 'hex');
    expect(objectGuidToUuid(bytes)).toBe('4c7a0b2b-1f7e-454d-a1b2-c3d4e5f60718');
  });
});

describe.skipIf(!slapdInstalled)('LDAP directory adapter: directory down', () => {
  const data = directoryData({ people: 5 });
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd(data);
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  it('throws DirectoryUnavailable (not null) when the directory is stopped, and works once it is back', async () => {
    const person = data.people[0];
    if (!person) throw new Error('no people');
    const config = openLdapConfig(slapd, { timeout_ms: 2_000 });
    await slapd.halt();
    const error = await authenticate(config, data.servicePassword, person.uid, person.password).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(DirectoryUnavailable);
    expect((error as DirectoryUnavailable).failure).toBe('UNREACHABLE');
    expect((error as DirectoryUnavailable).status).toBe(503);
    const checks = await testConnection(config, data.servicePassword);
    expect(checks).toEqual([expect.objectContaining({ name: 'connect', ok: false })]);

    await slapd.start();
    expect(await authenticate(config, data.servicePassword, person.uid, person.password)).not.toBeNull();
  });
});

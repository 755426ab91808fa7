import { Client, InvalidCredentialsError, StrongAuthRequiredError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdSeedResult, defaultAdSpec, seedActiveDirectory } from './helpers/ad-seed.js';
import { type SambaAd, sambaInstalled, startSambaAd } from './helpers/samba-ad.js';

// Issue 15: Active Directory behaviour against a real Samba AD DC that this file provisions and
// starts (tests/helpers/samba-ad.ts), seeded over LDAPS (tests/helpers/ad-seed.ts).

const IN_CHAIN = '1.2.840.113556.1.4.1941';
const USER_FILTER = '(&(objectCategory=person)(objectClass=user))';

let ad: SambaAd;
let seeded: AdSeedResult;
let admin: Client;

/** The GUID string form of AD's objectGUID bytes: the first three fields little-endian (MS-DTYP 2.3.4.2). */
function guidString(bytes: Buffer): string {
  const hex = (buffer: Buffer) => buffer.toString('hex');
  const reversed = (start: number, end: number) => hex(Buffer.from(bytes.subarray(start, end)).reverse());
  return `${reversed(0, 4)}-${reversed(4, 6)}-${reversed(6, 8)}-${hex(bytes.subarray(8, 10))}-${hex(bytes.subarray(10, 16))}`;
}

describe.runIf(sambaInstalled)('Active Directory (Samba AD DC) through ldapts', () => {
  beforeAll(async () => {
    ad = await startSambaAd();
    admin = ad.client();
    await admin.bind(ad.adminDn, ad.adminPassword);
    seeded = await seedActiveDirectory(admin, defaultAdSpec(ad.baseDn, ad.realm.toLowerCase()));
  }, 240_000);

  afterAll(async () => {
    await admin?.unbind();
    await ad?.stop();
  });

  it('refuses a simple bind over plain ldap:// with strongAuthRequired', async () => {
    const plain = new Client({ url: ad.ldapUrl, connectTimeout: 5000 });
    try {
      await expect(plain.bind(ad.adminDn, ad.adminPassword)).rejects.toBeInstanceOf(StrongAuthRequiredError);
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

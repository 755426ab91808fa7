import { Attribute, Change, type Client } from 'ldapts';

/** AD `userAccountControl`: NORMAL_ACCOUNT (512), plus ACCOUNTDISABLE (2) for a disabled one. */
export const UAC_ENABLED = 512;
export const UAC_DISABLED = 514;

/** A user to create; `ou` is a path of OU names from the top (`Staff/Engineering`). */
export interface AdUserSpec {
  sAMAccountName: string;
  givenName: string;
  sn: string;
  ou: string;
  password: string;
  enabled: boolean;
  /** The CN (default `givenName sn`, as AD Users and Computers names users). */
  cn?: string;
}

/** A group to create in `ou`, with direct members (users by sAMAccountName, groups by name). */
export interface AdGroupSpec {
  name: string;
  ou: string;
  memberUsers: string[];
  memberGroups: string[];
}

export interface AdSeedSpec {
  /** The naming context, e.g. `DC=scaikey,DC=test`. */
  baseDn: string;
  /** The mail / userPrincipalName domain, e.g. `scaikey.test`. */
  mailDomain: string;
  /** OU paths, parents before children. */
  ous: string[];
  users: AdUserSpec[];
  groups: AdGroupSpec[];
}

/** What a seeded directory must answer, derived from the spec alone (the tests' oracle). */
export interface AdSeedResult {
  ous: number;
  users: number;
  enabledUsers: number;
  disabledUsers: number;
  groups: number;
  /** Direct `member` values over all groups (users and groups). */
  memberships: number;
  /** Direct `member` values that are users. */
  userMemberships: number;
  /** Direct `member` values that are groups (nestings). */
  groupNestings: number;
  /** The DN of an OU path (`Staff/Sales` → `OU=Sales,OU=Staff,DC=…`). */
  ouDn(path: string): string;
  userDn(sAMAccountName: string): string;
  groupDn(name: string): string;
  /** Every group a user is in, directly or through nested groups (DNs, sorted). */
  transitiveGroupDns(sAMAccountName: string): string[];
  spec: AdSeedSpec;
}

const GIVEN_NAMES = ['Anna', 'Bram', 'Chloe', 'Daan', 'Eva', 'Finn', 'Gwen', 'Hugo', 'Iris', 'Jules'];
const SURNAMES = ['Jansen', 'de Vries', 'Bakker', 'Visser', 'Smit'];

/**
 * The directory the AD tests use: OU=Staff with Engineering (and its Platform sub-OU), Sales and
 * Support, 50 users (every 20th from the 5th disabled: 3 disabled; user50's CN has a comma and
 * parentheses), and seven groups in OU=Groups
 * nested three levels deep: All Staff ⊃ Engineering ⊃ Platform Team ⊃ user01..user10, plus
 * VPN Users ⊃ On Call.
 */
export function defaultAdSpec(baseDn: string, mailDomain: string): AdSeedSpec {
  const users: AdUserSpec[] = [];
  for (let index = 1; index <= 50; index++) {
    const number = String(index).padStart(2, '0');
    const ou =
      index <= 10
        ? 'Staff/Engineering/Platform'
        : index <= 20
          ? 'Staff/Engineering'
          : index <= 35
            ? 'Staff/Sales'
            : 'Staff/Support';
    users.push({
      sAMAccountName: `user${number}`,
      givenName: GIVEN_NAMES[(index - 1) % GIVEN_NAMES.length] as string,
      sn: SURNAMES[Math.floor((index - 1) / GIVEN_NAMES.length)] as string,
      ou,
      // AD complexity: three character classes, and never the account name.
      password: `Secret-${number}-Pass!`,
      enabled: index % 20 !== 5,
      // One CN with a comma and parentheses: DN escaping in filters, IN_CHAIN and DN comparison.
      ...(index === 50 ? { cn: 'Smit, Jules (Contractor)' } : {}),
    });
  }
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `user${String(from + i).padStart(2, '0')}`);
  return {
    baseDn,
    mailDomain,
    ous: [
      'Staff',
      'Staff/Engineering',
      'Staff/Engineering/Platform',
      'Staff/Sales',
      'Staff/Support',
      'Groups',
    ],
    users,
    groups: [
      { name: 'All Staff', ou: 'Groups', memberUsers: [], memberGroups: ['Engineering', 'Sales', 'Support'] },
      { name: 'Engineering', ou: 'Groups', memberUsers: range(11, 20), memberGroups: ['Platform Team'] },
      { name: 'Platform Team', ou: 'Groups', memberUsers: range(1, 10), memberGroups: [] },
      { name: 'Sales', ou: 'Groups', memberUsers: range(21, 35), memberGroups: [] },
      { name: 'Support', ou: 'Groups', memberUsers: range(36, 50), memberGroups: [] },
      {
        name: 'VPN Users',
        ou: 'Groups',
        memberUsers: ['user01', 'user21', 'user36'],
        memberGroups: ['On Call'],
      },
      { name: 'On Call', ou: 'Groups', memberUsers: ['user02', 'user37'], memberGroups: [] },
    ],
  };
}

function ouDnOf(baseDn: string, path: string): string {
  return [
    ...path
      .split('/')
      .reverse()
      .map((name) => `OU=${name}`),
    baseDn,
  ].join(',');
}

const displayNameOf = (user: AdUserSpec) => user.cn ?? `${user.givenName} ${user.sn}`;

/** An attribute value as it stands in a DN (RFC 4514 §2.4: `,+"\\<>;` escaped, and `#` or a space at the start). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[,+"\\<>;]/g, (character) => `\\${character}`)
    .replace(/^[# ]/, (character) => `\\${character}`)
    .replace(/ $/, '\\ ');
}

/** What the spec describes, computed without the directory. */
export function expectedFromSpec(spec: AdSeedSpec): AdSeedResult {
  const ouDn = (path: string) => ouDnOf(spec.baseDn, path);
  const usersBySam = new Map(spec.users.map((user) => [user.sAMAccountName, user]));
  const groupsByName = new Map(spec.groups.map((group) => [group.name, group]));
  const userDn = (sam: string) => {
    const user = usersBySam.get(sam);
    if (!user) throw new Error(`no user ${sam} in the spec`);
    return `CN=${escapeDnValue(displayNameOf(user))},${ouDn(user.ou)}`;
  };
  const groupDn = (name: string) => {
    const group = groupsByName.get(name);
    if (!group) throw new Error(`no group ${name} in the spec`);
    return `CN=${group.name},${ouDn(group.ou)}`;
  };
  const transitiveGroupDns = (sam: string) => {
    const found = new Set<string>();
    let frontier = spec.groups.filter((group) => group.memberUsers.includes(sam));
    while (frontier.length > 0) {
      const next: AdGroupSpec[] = [];
      for (const group of frontier) {
        if (found.has(group.name)) continue;
        found.add(group.name);
        next.push(...spec.groups.filter((parent) => parent.memberGroups.includes(group.name)));
      }
      frontier = next;
    }
    return [...found].map(groupDn).sort();
  };
  const enabledUsers = spec.users.filter((user) => user.enabled).length;
  return {
    ous: spec.ous.length,
    users: spec.users.length,
    enabledUsers,
    disabledUsers: spec.users.length - enabledUsers,
    groups: spec.groups.length,
    memberships: spec.groups.reduce(
      (sum, group) => sum + group.memberUsers.length + group.memberGroups.length,
      0,
    ),
    userMemberships: spec.groups.reduce((sum, group) => sum + group.memberUsers.length, 0),
    groupNestings: spec.groups.reduce((sum, group) => sum + group.memberGroups.length, 0),
    ouDn,
    userDn,
    groupDn,
    transitiveGroupDns,
    spec,
  };
}

/** AD takes a new password only as the quoted password in UTF-16LE, and only over an encrypted connection. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/**
 * Creates the spec's OUs, users (with password and enabled/disabled `userAccountControl`) and
 * groups (then their members) through `client`, which must be bound as a domain admin over LDAPS.
 */
export async function seedActiveDirectory(client: Client, spec: AdSeedSpec): Promise<AdSeedResult> {
  const expected = expectedFromSpec(spec);
  for (const path of spec.ous) {
    const name = path.split('/').at(-1) as string;
    await client.add(expected.ouDn(path), { objectClass: ['top', 'organizationalUnit'], ou: name });
  }
  for (const user of spec.users) {
    const principal = `${user.sAMAccountName}@${spec.mailDomain}`;
    const text: Record<string, string | string[]> = {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: user.sAMAccountName,
      userPrincipalName: principal,
      mail: principal,
      givenName: user.givenName,
      sn: user.sn,
      displayName: displayNameOf(user),
      userAccountControl: String(user.enabled ? UAC_ENABLED : UAC_DISABLED),
    };
    const attributes = Object.entries(text).map(
      ([type, value]) => new Attribute({ type, values: Array.isArray(value) ? value : [value] }),
    );
    attributes.push(new Attribute({ type: 'unicodePwd', values: [unicodePwd(user.password)] }));
    await client.add(expected.userDn(user.sAMAccountName), attributes);
  }
  for (const group of spec.groups) {
    await client.add(expected.groupDn(group.name), {
      objectClass: ['top', 'group'],
      sAMAccountName: group.name,
    });
  }
  for (const group of spec.groups) {
    const members = [...group.memberUsers.map(expected.userDn), ...group.memberGroups.map(expected.groupDn)];
    if (members.length === 0) continue;
    await client.modify(
      expected.groupDn(group.name),
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: members }) }),
    );
  }
  return expected;
}

/** Sets a user's `userAccountControl` to 514 (disabled) or 512 (enabled). */
export async function setAccountEnabled(client: Client, userDn: string, enabled: boolean): Promise<void> {
  await client.modify(
    userDn,
    new Change({
      operation: 'replace',
      modification: new Attribute({
        type: 'userAccountControl',
        values: [String(enabled ? UAC_ENABLED : UAC_DISABLED)],
      }),
    }),
  );
}

/**
 * Creates an ordinary domain user in CN=Users (outside the synced OUs) to act as the provider's
 * service account: in AD any authenticated user may read the directory, no admin rights needed.
 */
export async function createServiceAccount(
  client: Client,
  baseDn: string,
  sAMAccountName: string,
  password: string,
): Promise<string> {
  const dn = `CN=${escapeDnValue(sAMAccountName)},CN=Users,${baseDn}`;
  await client.add(dn, [
    new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
    new Attribute({ type: 'sAMAccountName', values: [sAMAccountName] }),
    new Attribute({ type: 'userAccountControl', values: [String(UAC_ENABLED)] }),
    new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }),
  ]);
  return dn;
}

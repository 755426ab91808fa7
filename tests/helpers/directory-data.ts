import { createHash, randomBytes } from 'node:crypto';

/**
 * A generated OpenLDAP directory (issue 15): inetOrgPerson people under a few `ou=…,ou=People`
 * branches and groupOfNames groups nested three levels deep (all-staff ⊃ department ⊃ team ⊃
 * people), a few flat project groups, and a two-group cycle. Deterministic for the same options,
 * so tests assert exact counts from `expected`.
 */
export interface DirectoryDataOptions {
  /** How many people (default 300). */
  people?: number;
  suffix?: string;
  /** The branches under ou=People (default Sales, Engineering, Support). */
  units?: string[];
  /** Team groups per unit (default 3). */
  teamsPerUnit?: number;
  /** Hash the passwords ({SSHA}, default) or store them as given. */
  hashPasswords?: boolean;
  /** uids of people locked in the directory (ppolicy `pwdAccountLockedTime`, i.e. disabled). */
  locked?: string[];
}

export interface DirectoryPerson {
  uid: string;
  dn: string;
  mail: string;
  givenName: string;
  sn: string;
  cn: string;
  displayName: string;
  password: string;
  /** The ou path from the top (e.g. ['People', 'Sales']). */
  units: string[];
  locked: boolean;
}

export interface DirectoryGroup {
  cn: string;
  dn: string;
  /** Member DNs (people and groups). */
  members: string[];
}

export interface DirectoryData {
  suffix: string;
  ldif: string;
  adminDn: string;
  adminPassword: string;
  serviceDn: string;
  servicePassword: string;
  peopleBase: string;
  groupBase: string;
  /** The DN of the ppolicy default policy entry. */
  policyDn: string;
  people: DirectoryPerson[];
  groups: DirectoryGroup[];
  expected: {
    people: number;
    groups: number;
    /** person → group pairs where the person is a direct member. */
    directMemberships: number;
    /** person → group pairs through any chain of groups. */
    effectiveMemberships: number;
    /** group → group member edges. */
    groupEdges: number;
  };
  /** The groups (DNs) a person belongs to through any chain, cycle-safe. */
  effectiveGroupsOf(personDn: string): Set<string>;
}

/** RFC 2849: values that are not safe ASCII are written base64 (`attr:: …`). */
function line(attribute: string, value: string): string {
  const safe = /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${attribute}: ${value}` : `${attribute}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

function entry(dn: string, attributes: [string, string][]): string {
  return [line('dn', dn), ...attributes.map(([a, v]) => line(a, v))].join('\n');
}

/** OpenLDAP's {SSHA}: base64(sha1(password ‖ salt) ‖ salt). */
export function sshaHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

const GIVEN = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Zoë', 'Radia'];
const FAMILY = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Perlman',
];

export function personPassword(uid: string): string {
  return `pw-${uid}-Secret!`;
}

export function directoryData(options: DirectoryDataOptions = {}): DirectoryData {
  const count = options.people ?? 300;
  const suffix = options.suffix ?? 'dc=example,dc=org';
  const units = options.units ?? ['Sales', 'Engineering', 'Support'];
  const teamsPerUnit = options.teamsPerUnit ?? 3;
  const hash = options.hashPasswords ?? true;
  const peopleBase = `ou=People,${suffix}`;
  const groupBase = `ou=Groups,${suffix}`;
  const adminDn = `cn=admin,${suffix}`;
  const adminPassword = 'admin-Secret-1';
  const serviceDn = `cn=reader,${suffix}`;
  const servicePassword = 'reader-Secret-1';
  const entries: string[] = [];
  const dc = /^dc=([^,]+)/.exec(suffix)?.[1] ?? 'example';
  entries.push(
    entry(suffix, [
      ['objectClass', 'top'],
      ['objectClass', 'dcObject'],
      ['objectClass', 'organization'],
      ['o', dc],
      ['dc', dc],
    ]),
  );
  entries.push(
    entry(serviceDn, [
      ['objectClass', 'organizationalRole'],
      ['objectClass', 'simpleSecurityObject'],
      ['cn', 'reader'],
      ['userPassword', hash ? sshaHash(servicePassword) : servicePassword],
    ]),
  );
  // The ppolicy default policy (tests/helpers/slapd.ts): with it, slapd refuses binds of locked people.
  entries.push(
    entry(`cn=default-policy,${suffix}`, [
      ['objectClass', 'organizationalRole'],
      ['objectClass', 'pwdPolicy'],
      ['cn', 'default-policy'],
      ['pwdAttribute', 'userPassword'],
      ['pwdLockout', 'TRUE'],
    ]),
  );
  for (const dn of [peopleBase, groupBase, ...units.map((u) => `ou=${u},${peopleBase}`)]) {
    const ou = /^ou=([^,]+)/.exec(dn)?.[1] as string;
    entries.push(
      entry(dn, [
        ['objectClass', 'organizationalUnit'],
        ['ou', ou],
      ]),
    );
  }

  const people: DirectoryPerson[] = [];
  for (let i = 1; i <= count; i++) {
    const uid = `user${String(i).padStart(5, '0')}`;
    const unit = units[i % units.length] as string;
    const givenName = GIVEN[i % GIVEN.length] as string;
    const sn = `${FAMILY[i % FAMILY.length]}${i}`;
    const person: DirectoryPerson = {
      uid,
      dn: `uid=${uid},ou=${unit},${peopleBase}`,
      mail: `${uid}@example.org`,
      givenName,
      sn,
      cn: `${givenName} ${sn}`,
      displayName: `${givenName} ${sn}`,
      password: personPassword(uid),
      units: ['People', unit],
      locked: (options.locked ?? []).includes(uid),
    };
    people.push(person);
  }

  const groups: DirectoryGroup[] = [];
  const groupDn = (cn: string) => `cn=${cn},${groupBase}`;
  const departments: DirectoryGroup[] = [];
  for (const [u, unit] of units.entries()) {
    const teams: DirectoryGroup[] = [];
    for (let t = 0; t < teamsPerUnit; t++) {
      const cn = `team-${unit.toLowerCase()}-${t}`;
      const members = people
        .filter(
          (_, index) =>
            (index + 1) % units.length === u && Math.floor(index / units.length) % teamsPerUnit === t,
        )
        .map((p) => p.dn);
      teams.push({ cn, dn: groupDn(cn), members });
    }
    const department: DirectoryGroup = {
      cn: `department-${unit.toLowerCase()}`,
      dn: groupDn(`department-${unit.toLowerCase()}`),
      members: teams.map((t) => t.dn),
    };
    groups.push(...teams);
    departments.push(department);
  }
  groups.push(...departments);
  groups.push({ cn: 'all-staff', dn: groupDn('all-staff'), members: departments.map((d) => d.dn) });
  // Flat groups beside the tree, and a cycle (cycle-a ⇄ cycle-b) that expansion must survive.
  for (let p = 0; p < 3; p++) {
    const members = people.filter((_, index) => index % 7 === p).map((x) => x.dn);
    groups.push({ cn: `project-${p}`, dn: groupDn(`project-${p}`), members });
  }
  groups.push({
    cn: 'cycle-a',
    dn: groupDn('cycle-a'),
    members: [groupDn('cycle-b'), ...people.slice(0, 2).map((p) => p.dn)],
  });
  groups.push({ cn: 'cycle-b', dn: groupDn('cycle-b'), members: [groupDn('cycle-a')] });

  for (const group of groups) {
    // groupOfNames requires a member; an empty group holds the service account.
    const members = group.members.length > 0 ? group.members : [serviceDn];
    group.members = members;
  }
  for (const person of people) {
    entries.push(
      entry(person.dn, [
        ['objectClass', 'inetOrgPerson'],
        ['uid', person.uid],
        ['cn', person.cn],
        ['sn', person.sn],
        ['givenName', person.givenName],
        ['displayName', person.displayName],
        ['mail', person.mail],
        ['userPassword', hash ? sshaHash(person.password) : person.password],
        // "Locked by an administrator until unlocked" (the ppolicy overlay's permanent lock).
        ...(person.locked ? [['pwdAccountLockedTime', '000001010000Z'] as [string, string]] : []),
      ]),
    );
  }
  for (const group of groups) {
    entries.push(
      entry(group.dn, [
        ['objectClass', 'groupOfNames'],
        ['cn', group.cn],
        ...group.members.map((m): [string, string] => ['member', m]),
      ]),
    );
  }

  // Expected numbers: parents of each group, then each person's upward closure.
  const groupDns = new Set(groups.map((g) => g.dn));
  const parentsOf = new Map<string, string[]>();
  for (const group of groups) {
    for (const member of group.members) {
      const list = parentsOf.get(member) ?? [];
      list.push(group.dn);
      parentsOf.set(member, list);
    }
  }
  const effectiveGroupsOf = (dn: string): Set<string> => {
    const seen = new Set<string>();
    const queue = [...(parentsOf.get(dn) ?? [])];
    while (queue.length > 0) {
      const next = queue.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(...(parentsOf.get(next) ?? []));
    }
    return seen;
  };
  let directMemberships = 0;
  let effectiveMemberships = 0;
  for (const person of people) {
    directMemberships += (parentsOf.get(person.dn) ?? []).length;
    effectiveMemberships += effectiveGroupsOf(person.dn).size;
  }
  const groupEdges = groups.reduce((n, g) => n + g.members.filter((m) => groupDns.has(m)).length, 0);

  return {
    suffix,
    ldif: `${entries.join('\n\n')}\n`,
    adminDn,
    adminPassword,
    serviceDn,
    servicePassword,
    peopleBase,
    groupBase,
    policyDn: `cn=default-policy,${suffix}`,
    people,
    groups,
    expected: {
      people: people.length,
      groups: groups.length,
      directMemberships,
      effectiveMemberships,
      groupEdges,
    },
    effectiveGroupsOf,
  };
}

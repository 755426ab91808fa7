import { createHash } from 'node:crypto';
import { deterministicId, Random } from './random.js';

/** How big the generated directory is. Every figure is per tenant except `tenants`. */
export interface DatasetShape {
  tenants: number;
  usersPerTenant: number;
  /** Levels of the OU tree (0 = no OUs). */
  ouDepth: number;
  /** Root OUs per tenant, and children per OU below them. */
  ouFanout: number;
  groupsPerTenant: number;
  /** Levels of the group graph (1 = flat); hierarchy and NESTED edges only point one level down or more. */
  groupDepth: number;
  /** Direct group memberships of each user (at most groupsPerTenant). */
  membershipsPerUser: number;
}

export type SizeName = 'tiny' | 'default' | 'large';

export const SIZES: Record<SizeName, DatasetShape> = {
  /** The smoke test's: seconds to seed, proves the plumbing only. */
  tiny: {
    tenants: 1,
    usersPerTenant: 20,
    ouDepth: 2,
    ouFanout: 2,
    groupsPerTenant: 6,
    groupDepth: 2,
    membershipsPerUser: 2,
  },
  /** 20,000 users over 10 tenants; the whole bench on both databases stays well under 10 minutes. */
  default: {
    tenants: 10,
    usersPerTenant: 2_000,
    ouDepth: 3,
    ouFanout: 4,
    groupsPerTenant: 60,
    groupDepth: 3,
    membershipsPerUser: 3,
  },
  /**
   * The 100,000-user tenant the directory issues name: 5,460 OUs 6 deep (issue 4), 10,000 groups 6
   * deep (issue 6), 300,000 direct memberships.
   */
  large: {
    tenants: 1,
    usersPerTenant: 100_000,
    ouDepth: 6,
    ouFanout: 4,
    groupsPerTenant: 10_000,
    groupDepth: 6,
    membershipsPerUser: 3,
  },
};

/** Share of groups (below the top level) that get one extra NESTED parent besides their hierarchy parent. */
const NESTED_EDGE_SHARE = 0.1;
/** Share of users placed in an OU (the rest have none). */
const USERS_IN_OU_SHARE = 0.9;
/**
 * The first group of each tenant is the "hub" (issue 6): besides its own hierarchy children it gets
 * a NESTED edge to every HUB_STRIDE-th group of the second level, so that its effective members are
 * a large share of the tenant (about half at the large size).
 */
const HUB_STRIDE = 4;
/** User 0 of each tenant is a direct member of this many groups (issue 6), spread over all levels. */
export const BUSY_USER_GROUPS = 50;
/** Where the seeded WEB applications send the browser back to (never fetched). */
export const BENCH_CALLBACK = 'http://127.0.0.1:9/callback';

/** The bench's own partner: every seeded tenant belongs to it. */
export interface PartnerPlan {
  id: string;
  name: string;
  slug: string;
}

export interface OuPlan {
  id: string;
  parentId: string | null;
  name: string;
  /** Materialised path of names from the root, e.g. `/Engineering-1/Platform-3`. */
  path: string;
  /** 0 for a root OU. */
  depth: number;
}

export interface GroupPlan {
  id: string;
  name: string;
  /** Hierarchy parent (also stored as a HIERARCHY edge). */
  parentId: string | null;
  /** 0 = top level. */
  level: number;
}

export interface GroupEdgePlan {
  parentId: string;
  childId: string;
  kind: 'HIERARCHY' | 'NESTED';
}

/** A confidential WEB application of a tenant (authorization code + PKCE, refresh tokens). */
export interface WebAppPlan {
  id: string;
  secret: string;
  redirectUri: string;
}

export interface TenantPlan {
  index: number;
  id: string;
  name: string;
  slug: string;
  userCount: number;
  ous: OuPlan[];
  groups: GroupPlan[];
  groupEdges: GroupEdgePlan[];
  webApp: WebAppPlan;
}

export interface DatasetPlan {
  seed: string;
  shape: DatasetShape;
  partner: PartnerPlan;
  tenants: TenantPlan[];
  /**
   * An extra tenant without users, OUs or groups, for scenarios that create rows (users.create):
   * they leave the measured tenants as seeded.
   */
  writeTenant: TenantPlan;
}

export interface UserPlan {
  id: string;
  email: string;
  username: string;
  firstName: string;
  lastName: string;
  displayName: string;
  ouId: string | null;
  status: 'ACTIVE' | 'DISABLED' | 'PENDING_EMAIL_VERIFICATION';
  emailVerified: boolean;
  hasPassword: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

const OU_WORDS = [
  'Engineering',
  'Sales',
  'Marketing',
  'Finance',
  'Operations',
  'Support',
  'Legal',
  'People',
  'Research',
  'Platform',
  'Security',
  'Design',
];
const GROUP_WORDS = [
  'Admins',
  'Readers',
  'Editors',
  'Project',
  'Team',
  'Guild',
  'Committee',
  'Rota',
  'Access',
];
const FIRST_NAMES = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Frances',
  'Edsger',
  'Radia',
  'Tim',
  'Katherine',
  'Donald',
  'Hedy',
  'John',
  'Sophie',
  'Niklaus',
  'Shafi',
  'Leslie',
];
const LAST_NAMES = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Berners-Lee',
  'Johnson',
  'Knuth',
  'Lamarr',
  'McCarthy',
  'Wilson',
  'Wirth',
  'Goldwasser',
  'Lamport',
];

/** Users are created one minute apart from this instant, so `created_at` ordering is deterministic. */
const EPOCH = Date.UTC(2024, 0, 1);

function buildOus(seed: string, tenantIndex: number, shape: DatasetShape): OuPlan[] {
  const random = new Random(`${seed}:ous:${tenantIndex}`);
  const ous: OuPlan[] = [];
  let level: OuPlan[] = [];
  for (let depth = 0; depth < shape.ouDepth; depth++) {
    const parents: (OuPlan | null)[] = depth === 0 ? [null] : level;
    const next: OuPlan[] = [];
    for (const parent of parents) {
      for (let child = 0; child < shape.ouFanout; child++) {
        const name = `${random.pick(OU_WORDS)}-${child + 1}`;
        const ou: OuPlan = {
          id: deterministicId('ou', seed, tenantIndex, ous.length + next.length),
          parentId: parent?.id ?? null,
          name,
          path: `${parent?.path ?? ''}/${name}`,
          depth,
        };
        next.push(ou);
      }
    }
    ous.push(...next);
    level = next;
  }
  return ous;
}

function buildGroups(
  seed: string,
  tenantIndex: number,
  shape: DatasetShape,
): { groups: GroupPlan[]; edges: GroupEdgePlan[] } {
  const random = new Random(`${seed}:groups:${tenantIndex}`);
  const levels = Math.max(1, Math.min(shape.groupDepth, shape.groupsPerTenant));
  const groups: GroupPlan[] = [];
  const byLevel: GroupPlan[][] = [];
  for (let level = 0; level < levels; level++) {
    // Spread evenly, the remainder going to the upper levels.
    const count =
      Math.floor(shape.groupsPerTenant / levels) + (level < shape.groupsPerTenant % levels ? 1 : 0);
    const current: GroupPlan[] = [];
    for (let i = 0; i < count; i++) {
      const parent = level === 0 ? null : random.pick(byLevel[level - 1] as GroupPlan[]);
      const group: GroupPlan = {
        id: deterministicId('group', seed, tenantIndex, groups.length),
        // Unique per tenant by the running number.
        name: `${random.pick(GROUP_WORDS)} ${groups.length + 1}`,
        parentId: parent?.id ?? null,
        level,
      };
      groups.push(group);
      current.push(group);
    }
    byLevel.push(current);
  }

  const edges: GroupEdgePlan[] = groups
    .filter((group) => group.parentId !== null)
    .map((group) => ({ parentId: group.parentId as string, childId: group.id, kind: 'HIERARCHY' as const }));
  const seen = new Set(edges.map((edge) => `${edge.parentId}>${edge.childId}`));
  // Extra NESTED parents always sit on a higher level than the child: the graph stays acyclic.
  for (const group of groups) {
    if (group.level === 0 || !random.chance(NESTED_EDGE_SHARE)) continue;
    const parentLevel = byLevel[random.int(group.level)] as GroupPlan[];
    const parent = random.pick(parentLevel);
    const key = `${parent.id}>${group.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({ parentId: parent.id, childId: group.id, kind: 'NESTED' });
  }
  const hub = groups[0];
  for (const [index, child] of (byLevel[1] ?? []).entries()) {
    if (!hub || index % HUB_STRIDE !== 0) continue;
    const key = `${hub.id}>${child.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({ parentId: hub.id, childId: child.id, kind: 'NESTED' });
  }
  return { groups, edges };
}

/** The whole dataset except users and memberships, which are generated on demand (they can be large). */
export function planDataset(shape: DatasetShape, seed = 'scaikey-bench'): DatasetPlan {
  const partner: PartnerPlan = {
    id: deterministicId('partner', seed, 'bench'),
    name: 'Bench partner',
    slug: 'bench',
  };
  const webApp = (index: number | string): WebAppPlan => ({
    id: deterministicId('application', seed, 'web', index),
    secret: createHash('sha256').update(`${seed}:web-secret:${index}`).digest('base64url'),
    redirectUri: BENCH_CALLBACK,
  });
  const tenants: TenantPlan[] = [];
  for (let index = 0; index < shape.tenants; index++) {
    const id = deterministicId('tenant', seed, index);
    const { groups, edges } = buildGroups(seed, index, shape);
    tenants.push({
      index,
      id,
      name: `Bench tenant ${index + 1}`,
      slug: `bench-tenant-${String(index + 1).padStart(4, '0')}`,
      userCount: shape.usersPerTenant,
      ous: buildOus(seed, index, shape),
      groups,
      groupEdges: edges,
      webApp: webApp(index),
    });
  }
  const writeTenant: TenantPlan = {
    index: shape.tenants,
    id: deterministicId('tenant', seed, 'writes'),
    name: 'Bench writes',
    slug: 'bench-writes',
    userCount: 0,
    ous: [],
    groups: [],
    groupEdges: [],
    webApp: webApp('writes'),
  };
  return { seed, shape, partner, tenants, writeTenant };
}

/** Direct groups of user 0 (the busy user): BUSY_USER_GROUPS groups at an even stride over all levels. */
export function busyUserGroups(tenant: TenantPlan): GroupPlan[] {
  const count = Math.min(BUSY_USER_GROUPS, tenant.groups.length);
  if (count === 0) return [];
  const stride = tenant.groups.length / count;
  return Array.from({ length: count }, (_, i) => tenant.groups[Math.floor(i * stride)] as GroupPlan);
}

/** The id of user `index` of a tenant, without generating the others. */
export function userId(plan: DatasetPlan, tenant: TenantPlan, index: number): string {
  return deterministicId('user', plan.seed, tenant.index, index);
}

/** Users of one tenant, in index order. */
export function* generateUsers(plan: DatasetPlan, tenant: TenantPlan): Generator<UserPlan> {
  const random = new Random(`${plan.seed}:users:${tenant.index}`);
  for (let index = 0; index < tenant.userCount; index++) {
    const firstName = random.pick(FIRST_NAMES);
    const lastName = random.pick(LAST_NAMES);
    const handle = `${firstName}.${lastName}.${index + 1}`.toLowerCase();
    const roll = random.next();
    const status = roll < 0.95 ? 'ACTIVE' : roll < 0.98 ? 'DISABLED' : 'PENDING_EMAIL_VERIFICATION';
    const ouId =
      tenant.ous.length > 0 && random.chance(USERS_IN_OU_SHARE) ? random.pick(tenant.ous).id : null;
    const createdAt = new Date(EPOCH + index * 60_000);
    const lastLoginAt =
      status === 'ACTIVE' && random.chance(0.7)
        ? new Date(createdAt.getTime() + random.int(86_400_000))
        : null;
    yield {
      id: userId(plan, tenant, index),
      email: `${handle}@${tenant.slug}.bench.example`,
      username: handle,
      firstName,
      lastName,
      displayName: `${firstName} ${lastName}`,
      ouId,
      status,
      emailVerified: status !== 'PENDING_EMAIL_VERIFICATION',
      hasPassword: status !== 'PENDING_EMAIL_VERIFICATION',
      createdAt,
      lastLoginAt,
    };
  }
}

/**
 * Direct memberships of one tenant: each user in `membershipsPerUser` distinct groups, skewed
 * towards the first (top-level) groups so that a few groups are large, as in real directories.
 */
export function* generateMemberships(
  plan: DatasetPlan,
  tenant: TenantPlan,
): Generator<{ groupId: string; userId: string }> {
  const groupCount = tenant.groups.length;
  const perUser = Math.min(plan.shape.membershipsPerUser, groupCount);
  if (perUser === 0) return;
  const random = new Random(`${plan.seed}:memberships:${tenant.index}`);
  for (let index = 0; index < tenant.userCount; index++) {
    const user = userId(plan, tenant, index);
    if (index === 0) {
      for (const group of busyUserGroups(tenant)) yield { groupId: group.id, userId: user };
      continue;
    }
    const chosen = new Set<number>();
    while (chosen.size < perUser) {
      const r = random.next();
      chosen.add(Math.floor(groupCount * r * r));
    }
    for (const group of chosen) yield { groupId: (tenant.groups[group] as GroupPlan).id, userId: user };
  }
}

/**
 * Events seeded into the change feed of the first tenant (issue 14, scenario events.feed): 50,000
 * from the default size up (50 pages of 1,000), 200 on the tiny one (the smoke test's plumbing).
 */
export function feedEventCount(shape: DatasetShape): number {
  return shape.usersPerTenant >= 2_000 ? 50_000 : 200;
}

/** Row counts the plan will produce (for the report). */
export function datasetCounts(plan: DatasetPlan): Record<string, number> {
  let ous = 0;
  let groups = 0;
  let edges = 0;
  let users = 0;
  let memberships = 0;
  for (const tenant of plan.tenants) {
    ous += tenant.ous.length;
    groups += tenant.groups.length;
    edges += tenant.groupEdges.length;
    users += tenant.userCount;
    const perUser = Math.min(plan.shape.membershipsPerUser, tenant.groups.length);
    if (tenant.userCount > 0) {
      memberships += (tenant.userCount - 1) * perUser + busyUserGroups(tenant).length;
    }
  }
  return {
    tenants: plan.tenants.length,
    users,
    ous,
    groups,
    group_edges: edges,
    group_memberships: memberships,
    event_outbox: feedEventCount(plan.shape),
  };
}

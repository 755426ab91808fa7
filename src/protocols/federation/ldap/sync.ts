import { newId } from '../../../lib/ids.js';
import { lazyImport } from '../../../lib/lazy-import.js';
import { createDirectoryGroupsRepository, type Pair } from '../../../modules/groups/index.js';
import { ensureOuPaths } from '../../../modules/ous/index.js';
import { revokeUserSessions } from '../../../modules/sessions/index.js';
import { findLiveTenant } from '../../../modules/tenants/index.js';
import {
  createDirectoryUsersRepository,
  type DirectoryLinkRow,
  type DirectoryUserInsert,
  type DirectoryUserUpdate,
} from '../../../modules/users/index.js';
import type { Db } from '../../../platform/db/database.js';
import type { UserStatus } from '../../../platform/db/schema.js';
import { bindTenant, type TenantTx, tenantTransaction } from '../../../platform/db/tenant-scope.js';
import { AppError } from '../../../platform/errors.js';
import { recordAudit } from '../../../platform/events/audit-log.js';
import { type AuditEntry, insertAuditEvents } from '../../../platform/events/events.repository.js';
import type { AuditOrigin } from '../../../platform/http.js';
import type { LdapProviderConfig } from '../types.js';
import type { DirectoryGroup, DirectoryUser } from './directory.js';
import { normalizeDn, ouPathFromDn } from './dn.js';
import { createSyncRunsRepository, type LdapSyncRunRow } from './sync-runs.repository.js';

/** The LDAP adapter (and ldapts), loaded at the first sync (docs/performance.md, "Idle memory"). */
const directory = lazyImport(() => import('./directory.js'));

/**
 * The LDAP sync (issue 15): reads every user and group of the directory first, then mirrors them
 * into the tenant in ONE transaction (never a half-applied directory): users created, updated,
 * disabled (disabled in the directory) and removed (gone from the directory: disabled, their link
 * marked removed; re-enabled when they come back), their federated identities, groups with their
 * direct members and nested edges, and the group closure. A run is a row of ldap_sync_runs with a
 * lease: one RUNNING run per provider, taken over when its instance died.
 */

export type { LdapSyncRunRow } from './sync-runs.repository.js';

/** What the sync needs of an LDAP identity provider row (its config JSON, not its secrets). */
export interface LdapSyncProvider {
  id: string;
  config: LdapProviderConfig;
  /** Where new users go (and, with ou_placement DN, the root of the mirrored OU tree). */
  default_ou_id: string | null;
}

export interface LdapSyncRequest {
  tenantId: string;
  provider: LdapSyncProvider;
  /** The unsealed bind password (never logged, never stored here). */
  bindPassword: string;
  trigger: 'MANUAL' | 'SCHEDULED';
  requestedBy?: string | null;
  origin: AuditOrigin;
  /** How long a run may go without renewing before another instance may take it over. */
  leaseMs?: number;
}

export interface LdapSyncCounts {
  users_created: number;
  users_updated: number;
  users_disabled: number;
  users_removed: number;
  users_unchanged: number;
  /** Entries without an email, or whose email belongs to another user of the tenant. */
  users_skipped: number;
  groups_created: number;
  groups_updated: number;
  groups_removed: number;
  groups_unchanged: number;
  memberships_added: number;
  memberships_removed: number;
  nested_groups_added: number;
  nested_groups_removed: number;
  /** Directory group nestings left out because they would close a cycle (ScaiKey groups are a DAG). */
  nested_groups_skipped: number;
}

/** A second start while a run of the same provider holds its lease. */
export class SyncAlreadyRunning extends AppError {
  constructor() {
    super('SYNC_RUNNING', 'A sync of this identity provider is already running; wait for it to finish');
    this.name = 'SyncAlreadyRunning';
  }
}

const DEFAULT_LEASE_MS = 10 * 60_000;
/** Rows inserted into a table from which its statistics are refreshed in the sync's transaction. */
const ANALYZE_AFTER = 250;
export const DISABLED_IN_DIRECTORY = 'Disabled in the directory';
export const REMOVED_FROM_DIRECTORY = 'Removed from the directory';
const SYNC_REASONS = new Set([DISABLED_IN_DIRECTORY, REMOVED_FROM_DIRECTORY]);

interface DirectorySnapshot {
  users: DirectoryUser[];
  groups: DirectoryGroup[];
  /** False without a group base: groups are then not synced (mirrored groups are left as they are). */
  syncGroups: boolean;
  /** normalized user DN → direct group DNs. */
  direct: Map<string, string[]>;
  /** normalized user DN → effective group DNs (what sign-in would report). */
  effective: Map<string, string[]>;
  groupEdges: [string, string][];
}

async function readDirectory(config: LdapProviderConfig, bindPassword: string): Promise<DirectorySnapshot> {
  const { connect, resolveMemberships, searchGroups, searchUsers } = await directory();
  const client = await connect(config, bindPassword);
  try {
    const users = await searchUsers(client, config);
    const syncGroups = !!config.group_base_dn;
    const groups = syncGroups ? await searchGroups(client, config) : [];
    const { direct, effective, groupEdges } = resolveMemberships(users, groups, config);
    return { users, groups, syncGroups, direct, effective, groupEdges };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Every count of a run at zero. */
export function emptyCounts(): LdapSyncCounts {
  return {
    users_created: 0,
    users_updated: 0,
    users_disabled: 0,
    users_removed: 0,
    users_unchanged: 0,
    users_skipped: 0,
    groups_created: 0,
    groups_updated: 0,
    groups_removed: 0,
    groups_unchanged: 0,
    memberships_added: 0,
    memberships_removed: 0,
    nested_groups_added: 0,
    nested_groups_removed: 0,
    nested_groups_skipped: 0,
  };
}

/** The status a linked user gets: the sync only moves users between ACTIVE and its own DISABLED reasons. */
function nextStatus(
  current: { status: UserStatus; status_reason: string | null },
  wanted: 'ACTIVE' | 'DISABLED_IN_DIRECTORY' | 'REMOVED',
): { status: UserStatus; status_reason: string | null } {
  const ours =
    current.status === 'ACTIVE' ||
    (current.status === 'DISABLED' && SYNC_REASONS.has(current.status_reason ?? ''));
  if (!ours) return current;
  if (wanted === 'ACTIVE') return { status: 'ACTIVE', status_reason: null };
  return {
    status: 'DISABLED',
    status_reason: wanted === 'REMOVED' ? REMOVED_FROM_DIRECTORY : DISABLED_IN_DIRECTORY,
  };
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

async function applyUsers(
  trx: TenantTx,
  provider: LdapSyncProvider,
  snapshot: DirectorySnapshot,
  counts: LdapSyncCounts,
  events: EventContext,
): Promise<Map<string, string>> {
  const users = createDirectoryUsersRepository(trx);
  const links = await users.links(provider.id);
  const linkBySubject = new Map(links.map((link) => [link.subject, link]));
  const linkByUser = new Map(links.map((link) => [link.user_id, link]));
  /** normalized DN → ScaiKey user id, for memberships. */
  const userIdByDn = new Map<string, string>();
  const seenSubjects = new Set<string>();

  const inserts: Parameters<typeof users.insertUsers>[0][number][] = [];
  const linkInserts: Parameters<typeof users.insertLinks>[1][number][] = [];
  const updates: Parameters<typeof users.updateUsers>[0][number][] = [];
  const linkUpdates: Parameters<typeof users.updateLinks>[0][number][] = [];

  // Emails that new or changed entries want, checked against the tenant's other live users.
  const wantedEmails = new Set<string>();
  for (const entry of snapshot.users) {
    const link = linkBySubject.get(entry.id);
    if (entry.email && (!link || link.email.toLowerCase() !== entry.email.toLowerCase())) {
      wantedEmails.add(entry.email.toLowerCase());
    }
  }
  const holders = new Map(
    (await users.liveUsersByEmail([...wantedEmails])).map((row) => [row.email, row.id] as const),
  );
  const claimed = new Set<string>();

  // OU placement from the DN: the ou= RDNs below the user base, mirrored under the default OU.
  const placeByDn = provider.config.ou_placement === 'DN';
  const ouPaths = new Map<string, string[]>();
  if (placeByDn) {
    // OU names cannot hold "/" (it separates them in OU paths) and have at most 255 characters.
    const ouName = (name: string) => name.replaceAll('/', '-').slice(0, 255);
    for (const entry of snapshot.users) {
      ouPaths.set(entry.dn, ouPathFromDn(entry.dn, provider.config.user_base_dn).map(ouName));
    }
  }
  const ouIds = placeByDn
    ? await ensureOuPaths(trx, provider.default_ou_id, [...ouPaths.values()])
    : new Map();
  const ouOf = (dn: string, current: string | null): string | null => {
    if (!placeByDn) return current;
    const path = ouPaths.get(dn) ?? [];
    return path.length === 0 ? provider.default_ou_id : (ouIds.get(path.join('/')) ?? provider.default_ou_id);
  };

  for (const entry of snapshot.users) {
    if (seenSubjects.has(entry.id)) continue;
    seenSubjects.add(entry.id);
    const link: DirectoryLinkRow | undefined = linkBySubject.get(entry.id);
    const groups = snapshot.effective.get(normalizeDn(entry.dn)) ?? [];
    const email = entry.email?.trim() || null;
    const emailKey = email?.toLowerCase() ?? null;
    if (link?.user_deleted) {
      counts.users_skipped++;
      continue;
    }
    if (!link) {
      if (!email || !emailKey || holders.has(emailKey) || claimed.has(emailKey)) {
        counts.users_skipped++;
        continue;
      }
      claimed.add(emailKey);
      const id = newId('user');
      inserts.push({
        id,
        email,
        first_name: entry.givenName,
        last_name: entry.familyName,
        display_name: entry.displayName,
        status: entry.disabled ? 'DISABLED' : 'ACTIVE',
        status_reason: entry.disabled ? DISABLED_IN_DIRECTORY : null,
        ou_id: ouOf(entry.dn, provider.default_ou_id),
      });
      linkInserts.push({
        id: newId('federatedIdentity'),
        user_id: id,
        subject: entry.id,
        external_dn: entry.dn,
        upstream_groups: groups,
      });
      userIdByDn.set(normalizeDn(entry.dn), id);
      counts.users_created++;
      continue;
    }
    userIdByDn.set(normalizeDn(entry.dn), link.user_id);
    // An email another user holds (or another entry took in this run) stays as it was.
    let nextEmail = link.email;
    if (emailKey && email && emailKey !== link.email.toLowerCase()) {
      const holder = holders.get(emailKey);
      if ((!holder || holder === link.user_id) && !claimed.has(emailKey)) nextEmail = email;
    }
    if (emailKey) claimed.add(nextEmail.toLowerCase());
    const status = nextStatus(link, entry.disabled ? 'DISABLED_IN_DIRECTORY' : 'ACTIVE');
    const ouId = ouOf(entry.dn, link.ou_id);
    const fieldsChanged =
      ouId !== link.ou_id ||
      nextEmail !== link.email ||
      entry.givenName !== link.first_name ||
      entry.familyName !== link.last_name ||
      entry.displayName !== link.display_name;
    const statusChanged = status.status !== link.status || status.status_reason !== link.status_reason;
    const linkChanged =
      link.removed || entry.dn !== link.external_dn || !sameList(groups, link.upstream_groups);
    if (fieldsChanged || statusChanged) {
      updates.push({
        id: link.user_id,
        email: nextEmail,
        first_name: entry.givenName,
        last_name: entry.familyName,
        display_name: entry.displayName,
        status: status.status,
        status_reason: status.status_reason,
        ou_id: ouId,
      });
    }
    if (linkChanged)
      linkUpdates.push({ id: link.link_id, external_dn: entry.dn, upstream_groups: groups, removed: false });
    if (statusChanged && status.status === 'DISABLED' && link.status === 'ACTIVE') counts.users_disabled++;
    else if (fieldsChanged || statusChanged || linkChanged) counts.users_updated++;
    else counts.users_unchanged++;
  }

  // Links the directory no longer has: the user is disabled and the link marked removed (once).
  for (const link of links) {
    if (seenSubjects.has(link.subject) || link.removed || link.user_deleted) continue;
    const status = nextStatus(link, 'REMOVED');
    if (status.status !== link.status || status.status_reason !== link.status_reason) {
      updates.push({
        id: link.user_id,
        email: link.email,
        first_name: link.first_name,
        last_name: link.last_name,
        display_name: link.display_name,
        status: status.status,
        status_reason: status.status_reason,
        ou_id: link.ou_id,
      });
    }
    linkUpdates.push({ id: link.link_id, external_dn: link.external_dn, upstream_groups: [], removed: true });
    counts.users_removed++;
  }

  // Updates first: an email freed by one user can then be taken by another in the inserts.
  await users.updateUsers(updates);
  // A user the directory disabled or no longer has is signed out everywhere (as an admin's disable does).
  const disabled = updates.filter(
    (row) => row.status === 'DISABLED' && linkByUser.get(row.id)?.status === 'ACTIVE',
  );
  for (const row of disabled) await revokeUserSessions(trx, row.id);
  await users.insertUsers(inserts);
  await users.insertLinks(provider.id, linkInserts);
  await users.updateLinks(linkUpdates);
  if (inserts.length >= ANALYZE_AFTER) await users.analyze();
  await userEvents(trx, provider, inserts, updates, linkByUser, events);
  return userIdByDn;
}

/** Who the sync's entries name, and where. */
interface EventContext {
  origin: AuditOrigin;
  tenantId: string;
  partnerId: string | null;
}

/** How many audit entries one statement writes (each takes a dozen parameters). */
const EVENT_BATCH = 1000;

/**
 * The users' domain events of the sync, in its transaction, as the admin API writes them for the
 * same changes (`user.created`, `user.updated`, `user.status_changed`): webhooks and the change feed
 * see every user a sync creates, changes, disables or enables again.
 */
async function userEvents(
  trx: TenantTx,
  provider: LdapSyncProvider,
  inserts: readonly DirectoryUserInsert[],
  updates: readonly DirectoryUserUpdate[],
  before: Map<string, DirectoryLinkRow>,
  { origin, tenantId, partnerId }: EventContext,
): Promise<void> {
  const entries: AuditEntry[] = [];
  const subject = (id: string) => ({ resourceType: 'user', resourceId: id, tenantId, partnerId });
  for (const row of inserts) {
    entries.push({
      origin,
      event: {
        action: 'user.created',
        ...subject(row.id),
        after: {
          ...row,
          identity_source: 'LDAP',
          identity_provider_id: provider.id,
          password_set: false,
          mail: null,
        },
      },
    });
  }
  for (const row of updates) {
    const old = before.get(row.id);
    if (!old) continue;
    const fields = ['email', 'first_name', 'last_name', 'display_name', 'ou_id'] as const;
    const changed = fields.filter((key) => row[key] !== old[key]);
    if (changed.length > 0) {
      entries.push({
        origin,
        event: {
          action: 'user.updated',
          ...subject(row.id),
          before: Object.fromEntries(changed.map((key) => [key, old[key]])),
          after: Object.fromEntries(changed.map((key) => [key, row[key]])),
        },
      });
    }
    if (row.status !== old.status || row.status_reason !== old.status_reason) {
      entries.push({
        origin,
        event: {
          action: 'user.status_changed',
          ...subject(row.id),
          before: { status: old.status, status_reason: old.status_reason },
          after: { status: row.status, status_reason: row.status_reason },
        },
      });
    }
  }
  for (let i = 0; i < entries.length; i += EVENT_BATCH) {
    await insertAuditEvents(trx, entries.slice(i, i + EVENT_BATCH));
  }
}

/**
 * Edges kept in the DAG, in the given order: a directory nesting that would close a cycle (with
 * the edges kept so far or any other edge of the tenant) is left out.
 */
function acyclicEdges(desired: Pair[], fixed: Pair[]): { kept: Pair[]; skipped: number } {
  const children = new Map<string, Set<string>>();
  const add = ({ a, b }: Pair) => {
    const set = children.get(a) ?? new Set<string>();
    set.add(b);
    children.set(a, set);
  };
  for (const edge of fixed) add(edge);
  const reaches = (from: string, to: string) => {
    const stack = [from];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const node = stack.pop() as string;
      if (node === to) return true;
      if (seen.has(node)) continue;
      seen.add(node);
      for (const next of children.get(node) ?? []) stack.push(next);
    }
    return false;
  };
  const kept: Pair[] = [];
  let skipped = 0;
  for (const edge of desired) {
    if (edge.a === edge.b || reaches(edge.b, edge.a)) {
      skipped++;
      continue;
    }
    add(edge);
    kept.push(edge);
  }
  return { kept, skipped };
}

const pairKey = ({ a, b }: Pair) => `${a}\u0000${b}`;

function diff(desired: Pair[], current: Pair[]): { added: Pair[]; removed: Pair[] } {
  const want = new Set(desired.map(pairKey));
  const have = new Set(current.map(pairKey));
  return {
    added: desired.filter((pair) => !have.has(pairKey(pair))),
    removed: current.filter((pair) => !want.has(pairKey(pair))),
  };
}

async function applyGroups(
  trx: TenantTx,
  provider: LdapSyncProvider,
  snapshot: DirectorySnapshot,
  userIdByDn: Map<string, string>,
  counts: LdapSyncCounts,
): Promise<void> {
  const groups = createDirectoryGroupsRepository(trx);
  const mirrored = await groups.mirrored(provider.id);
  const byExternalId = new Map(mirrored.map((row) => [row.external_id, row]));
  const seen = new Set<string>();
  const removed = mirrored.filter((row) => !snapshot.groups.some((g) => g.id === row.external_id));
  await groups.remove(removed.map((row) => row.id));
  counts.groups_removed = removed.length;

  const taken = await groups.otherNames(provider.id);
  const groupIdByDn = new Map<string, string>();
  const inserts: Parameters<typeof groups.insert>[1][number][] = [];
  const updates: Parameters<typeof groups.update>[1][number][] = [];
  for (const entry of [...snapshot.groups].sort((x, y) => (x.dn < y.dn ? -1 : 1))) {
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    // The group's cn, unless another group of the tenant has it: then the DN tells them apart.
    const name = taken.has(entry.name.toLowerCase()) ? `${entry.name} (${entry.dn})` : entry.name;
    taken.add(name.toLowerCase());
    const existing = byExternalId.get(entry.id);
    const row = {
      id: existing?.id ?? newId('group'),
      name,
      description: entry.description,
      external_id: entry.id,
      dn: entry.dn,
    };
    groupIdByDn.set(normalizeDn(entry.dn), row.id);
    if (!existing) {
      inserts.push(row);
      counts.groups_created++;
    } else if (
      existing.name !== name ||
      existing.description !== entry.description ||
      existing.dn !== entry.dn
    ) {
      updates.push(row);
      counts.groups_updated++;
    } else counts.groups_unchanged++;
  }
  await groups.update(provider.id, updates);
  await groups.insert(provider.id, inserts);

  const groupIds = [...groupIdByDn.values()];
  const desiredMembers: Pair[] = [];
  for (const [userDn, groupDns] of snapshot.direct) {
    const userId = userIdByDn.get(userDn);
    if (!userId) continue;
    for (const dn of new Set(groupDns.map(normalizeDn))) {
      const groupId = groupIdByDn.get(dn);
      if (groupId) desiredMembers.push({ a: groupId, b: userId });
    }
  }
  const members = diff(desiredMembers, await groups.memberships(groupIds));
  await groups.removeMemberships(members.removed);
  await groups.addMemberships(members.added);
  counts.memberships_added = members.added.length;
  counts.memberships_removed = members.removed.length;

  // In DN order, so that which edge of a directory cycle is left out does not depend on ids.
  const wantedEdges: Pair[] = [];
  const edgeOrder = (edge: [string, string]) => `${normalizeDn(edge[0])}\u0000${normalizeDn(edge[1])}`;
  const directoryEdges = [...snapshot.groupEdges].sort((x, y) => (edgeOrder(x) < edgeOrder(y) ? -1 : 1));
  for (const [parentDn, childDn] of directoryEdges) {
    const a = groupIdByDn.get(normalizeDn(parentDn));
    const b = groupIdByDn.get(normalizeDn(childDn));
    if (a && b) wantedEdges.push({ a, b });
  }
  const currentEdges = await groups.edgesAmong(groupIds);
  const mirroredEdgeKeys = new Set(currentEdges.map(pairKey));
  const otherEdges = (await groups.allEdges()).filter((edge) => !mirroredEdgeKeys.has(pairKey(edge)));
  const { kept, skipped } = acyclicEdges(wantedEdges, otherEdges);
  const edges = diff(kept, currentEdges);
  await groups.removeEdges(edges.removed);
  await groups.addEdges(edges.added);
  counts.nested_groups_added = edges.added.length;
  counts.nested_groups_removed = edges.removed.length;
  counts.nested_groups_skipped = skipped;

  const changed =
    counts.groups_created +
    counts.groups_removed +
    members.added.length +
    members.removed.length +
    edges.added.length +
    edges.removed.length;
  if (changed > 0) await groups.rebuildClosure();
  if (members.added.length >= ANALYZE_AFTER) await groups.analyze();
}

function errorText(error: unknown): string {
  if (error instanceof AppError) return error.detail;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one sync of an LDAP provider of a tenant and returns its run row (SUCCEEDED with counts,
 * or FAILED with the error, nothing applied).
 * @throws SyncAlreadyRunning when a run of the provider holds its lease.
 */
export async function syncLdapDirectory(db: Db, request: LdapSyncRequest): Promise<LdapSyncRunRow> {
  const tenantDb = bindTenant(db, request.tenantId);
  const leaseMs = request.leaseMs ?? DEFAULT_LEASE_MS;
  const provider = request.provider;
  const claimed = await tenantTransaction(tenantDb, (trx) =>
    createSyncRunsRepository(trx).claim({
      id: newId('ldapSyncRun'),
      providerId: provider.id,
      trigger: request.trigger,
      requestedBy: request.requestedBy ?? null,
      leaseMs,
    }),
  );
  if (!claimed) throw new SyncAlreadyRunning();
  const eventContext: EventContext = {
    origin: request.origin,
    tenantId: request.tenantId,
    partnerId: (await findLiveTenant(db, request.tenantId))?.partner_id ?? null,
  };
  const audit = (trx: TenantTx, result: 'SUCCESS' | 'FAILURE', after: Record<string, unknown>) =>
    recordAudit(trx, request.origin, {
      action: 'identity_provider.synced',
      resourceType: 'identity_provider',
      resourceId: provider.id,
      tenantId: request.tenantId,
      partnerId: eventContext.partnerId,
      after: { run_id: claimed.id, trigger: request.trigger, ...after },
      result,
    });
  try {
    // Everything is read before anything is written: a directory that fails halfway changes nothing.
    const snapshot = await readDirectory(provider.config, request.bindPassword);
    return await tenantTransaction(tenantDb, async (trx) => {
      const runs = createSyncRunsRepository(trx);
      if (!(await runs.renew(claimed.id, leaseMs))) {
        throw new Error('This run was taken over by another instance after its lease expired');
      }
      const groups = createDirectoryGroupsRepository(trx);
      // The graph lock first (as every group write), so memberships and users never interleave.
      await groups.lockGraph();
      const counts = emptyCounts();
      const userIdByDn = await applyUsers(trx, provider, snapshot, counts, eventContext);
      if (snapshot.syncGroups) await applyGroups(trx, provider, snapshot, userIdByDn, counts);
      const finished = await runs.finish(claimed.id, 'SUCCEEDED', { ...counts }, null);
      if (!finished) throw new Error('The run is no longer RUNNING');
      await audit(trx, 'SUCCESS', { counts });
      return finished;
    });
  } catch (error) {
    const message = errorText(error);
    return await tenantTransaction(tenantDb, async (trx) => {
      const finished = await createSyncRunsRepository(trx).finish(claimed.id, 'FAILED', {}, message);
      await audit(trx, 'FAILURE', { error: message });
      return finished ?? ((await createSyncRunsRepository(trx).find(claimed.id)) as LdapSyncRunRow);
    });
  }
}

import { sql } from 'kysely';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';
import { rebuildGroupClosure } from './group-closure.repository.js';
import { createGroupsRepository } from './groups.repository.js';

/**
 * Groups mirrored from a directory (LDAP sync, issue 15). A mirrored group carries
 * `custom_attributes.directory = { identity_provider_id, external_id, dn }`; the sync owns its
 * name, description, direct members and the NESTED edges between mirrored groups of the same
 * provider (edges from or to other groups are the admins' and are left alone).
 *
 * Writes are set-based (one statement per batch) and bypass the per-edge closure maintenance, so
 * {@link DirectoryGroupsRepository.rebuildClosure} runs once at the end, under the graph lock
 * the caller took first (ADR 0004: "a bulk import … must call rebuildGroupClosure").
 */

export interface MirroredGroupRow {
  id: string;
  name: string;
  description: string | null;
  external_id: string;
  dn: string;
}

export interface MirroredGroupWrite {
  id: string;
  name: string;
  description: string | null;
  external_id: string;
  dn: string;
}

export interface Pair {
  a: string;
  b: string;
}

const BATCH = 2000;

function batches<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH));
  return out;
}

const rowsParameter = (rows: readonly unknown[]) => sql`${JSON.stringify(rows)}::jsonb`;

function directoryAttributes(providerId: string, row: MirroredGroupWrite) {
  return { directory: { identity_provider_id: providerId, external_id: row.external_id, dn: row.dn } };
}

export type DirectoryGroupsRepository = ReturnType<typeof createDirectoryGroupsRepository>;

export function createDirectoryGroupsRepository(db: TenantQueryable) {
  const tenantId = boundTenantId(db);
  const ofProvider = (providerId: string) =>
    sql`g.tenant_id = ${tenantId} and g.deleted_at is null
      and g.custom_attributes -> 'directory' ->> 'identity_provider_id' = ${providerId}`;

  return {
    /** Serializes group writes of the tenant until the transaction ends (every group write takes it). */
    async lockGraph(): Promise<void> {
      await createGroupsRepository(db).lockGraph();
    },

    /** The live groups mirrored from the provider. */
    async mirrored(providerId: string): Promise<MirroredGroupRow[]> {
      const result = await sql<MirroredGroupRow>`
        select g.id, g.name, g.description,
               g.custom_attributes -> 'directory' ->> 'external_id' as external_id,
               g.custom_attributes -> 'directory' ->> 'dn' as dn
        from groups g where ${ofProvider(providerId)}`.execute(db);
      return result.rows;
    },

    /** Lowercase names of live groups that are not mirrored from the provider (names to avoid). */
    async otherNames(providerId: string): Promise<Set<string>> {
      const result = await sql<{ name: string }>`
        select lower(g.name) as name from groups g
        where g.tenant_id = ${tenantId} and g.deleted_at is null
          and (g.custom_attributes -> 'directory' ->> 'identity_provider_id') is distinct from ${providerId}`.execute(
        db,
      );
      return new Set(result.rows.map((row) => row.name));
    },

    async insert(providerId: string, rows: readonly MirroredGroupWrite[]): Promise<void> {
      for (const batch of batches(rows)) {
        const values = batch.map((row) => ({
          ...row,
          custom_attributes: directoryAttributes(providerId, row),
        }));
        await sql`insert into groups (tenant_id, id, name, description, group_type, custom_attributes)
          select ${tenantId}, v.id, v.name, v.description, 'SECURITY', v.custom_attributes
          from jsonb_to_recordset(${rowsParameter(values)}) as v(id text, name text, description text,
            custom_attributes jsonb)`.execute(db);
      }
    },

    /** Writes name, description and the directory reference (DN) of mirrored groups. */
    async update(providerId: string, rows: readonly MirroredGroupWrite[]): Promise<void> {
      for (const batch of batches(rows)) {
        const values = batch.map((row) => ({
          ...row,
          custom_attributes: directoryAttributes(providerId, row),
        }));
        await sql`update groups g set name = v.name, description = v.description,
            custom_attributes = coalesce(g.custom_attributes, '{}'::jsonb) || v.custom_attributes,
            updated_at = now()
          from jsonb_to_recordset(${rowsParameter(values)}) as v(id text, name text, description text,
            custom_attributes jsonb)
          where g.tenant_id = ${tenantId} and g.id = v.id`.execute(db);
      }
    },

    /** Deletes groups (edges, memberships, assignments and closure rows with them). */
    async remove(ids: readonly string[]): Promise<void> {
      if (ids.length > 0) await createGroupsRepository(db).purge(ids);
    },

    /** Direct memberships of `groupIds`: a = group, b = user. */
    async memberships(groupIds: readonly string[]): Promise<Pair[]> {
      const pairs: Pair[] = [];
      for (const batch of batches(groupIds)) {
        const result = await sql<Pair>`select group_id as a, user_id as b from group_memberships
          where tenant_id = ${tenantId}
            and group_id in (select value from jsonb_array_elements_text(${rowsParameter(batch)}))`.execute(
          db,
        );
        pairs.push(...result.rows);
      }
      return pairs;
    },

    async addMemberships(pairs: readonly Pair[]): Promise<void> {
      for (const batch of batches(pairs)) {
        await sql`insert into group_memberships (tenant_id, group_id, user_id)
          select ${tenantId}, v.a, v.b from jsonb_to_recordset(${rowsParameter(batch)}) as v(a text, b text)
          on conflict do nothing`.execute(db);
      }
    },

    async removeMemberships(pairs: readonly Pair[]): Promise<void> {
      for (const batch of batches(pairs)) {
        await sql`delete from group_memberships m using jsonb_to_recordset(${rowsParameter(batch)}) as v(a text, b text)
          where m.tenant_id = ${tenantId} and m.group_id = v.a and m.user_id = v.b`.execute(db);
      }
    },

    /** Edges whose both ends are among `groupIds`: a = parent, b = child. */
    async edgesAmong(groupIds: readonly string[]): Promise<Pair[]> {
      if (groupIds.length === 0) return [];
      const result = await sql<Pair>`select parent_group_id as a, child_group_id as b from group_edges
        where tenant_id = ${tenantId}
          and parent_group_id in (select value from jsonb_array_elements_text(${rowsParameter(groupIds)}))
          and child_group_id in (select value from jsonb_array_elements_text(${rowsParameter(groupIds)}))`.execute(
        db,
      );
      return result.rows;
    },

    async addEdges(pairs: readonly Pair[]): Promise<void> {
      for (const batch of batches(pairs)) {
        await sql`insert into group_edges (tenant_id, parent_group_id, child_group_id, kind)
          select ${tenantId}, v.a, v.b, 'NESTED' from jsonb_to_recordset(${rowsParameter(batch)}) as v(a text, b text)
          on conflict do nothing`.execute(db);
      }
    },

    async removeEdges(pairs: readonly Pair[]): Promise<void> {
      for (const batch of batches(pairs)) {
        await sql`delete from group_edges e using jsonb_to_recordset(${rowsParameter(batch)}) as v(a text, b text)
          where e.tenant_id = ${tenantId} and e.parent_group_id = v.a and e.child_group_id = v.b
            and e.kind = 'NESTED'`.execute(db);
      }
    },

    /** Every edge of the tenant's group graph (a = parent, b = child): for cycle checks before writing. */
    async allEdges(): Promise<Pair[]> {
      const result = await sql<Pair>`select parent_group_id as a, child_group_id as b from group_edges
        where tenant_id = ${tenantId}`.execute(db);
      return result.rows;
    },

    /** Refreshes the planner's statistics after a large membership load (see the users' analyze). */
    async analyze(): Promise<void> {
      await sql`analyze group_memberships, group_effective_members`.execute(db);
    },

    /** Recomputes the tenant's closures from the base tables (after the set-based writes above). */
    async rebuildClosure(): Promise<void> {
      await rebuildGroupClosure(db);
    },
  };
}

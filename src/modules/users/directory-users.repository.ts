import { sql } from 'kysely';
import type { UserStatus } from '../../platform/db/schema.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

/**
 * Set-based writes of users mirrored from a directory (LDAP sync, issue 15) and of their links
 * (federated_identities): one statement per batch of rows, never one per user, so that a sync of
 * tens of thousands of people stays a few dozen statements. Runs in the caller's transaction on a
 * tenant-bound handle; rows travel as one JSON parameter (the same SQL on PGlite and PostgreSQL).
 */

/** A user linked to the provider, with what the last sync wrote. */
export interface DirectoryLinkRow {
  link_id: string;
  user_id: string;
  subject: string;
  external_dn: string | null;
  upstream_groups: string[];
  removed: boolean;
  email: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  status: UserStatus;
  status_reason: string | null;
  ou_id: string | null;
  user_deleted: boolean;
}

export interface DirectoryUserInsert {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  status: UserStatus;
  status_reason: string | null;
  ou_id: string | null;
}

export type DirectoryUserUpdate = DirectoryUserInsert;

export interface DirectoryLinkInsert {
  id: string;
  user_id: string;
  subject: string;
  external_dn: string;
  upstream_groups: string[];
}

export interface DirectoryLinkUpdate {
  id: string;
  external_dn: string | null;
  upstream_groups: string[];
  removed: boolean;
}

const BATCH = 2000;

function batches<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH));
  return out;
}

const rowsParameter = (rows: readonly unknown[]) => sql`${JSON.stringify(rows)}::jsonb`;

export function createDirectoryUsersRepository(db: TenantQueryable) {
  const tenantId = boundTenantId(db);
  return {
    /** Every link of the provider (removed ones included) with its user's current fields. */
    async links(providerId: string): Promise<DirectoryLinkRow[]> {
      const result = await sql<DirectoryLinkRow>`
        select f.id as link_id, f.user_id, f.subject, f.external_dn, f.upstream_groups,
               f.removed_at is not null as removed, u.email, u.first_name, u.last_name,
               u.display_name, u.status, u.status_reason, u.ou_id, u.deleted_at is not null as user_deleted
        from federated_identities f
        join users u on u.tenant_id = f.tenant_id and u.id = f.user_id
        where f.tenant_id = ${tenantId} and f.identity_provider_id = ${providerId}`.execute(db);
      return result.rows;
    },

    /** Live users of the tenant with one of `emails` (lowercase): email collisions of new entries. */
    async liveUsersByEmail(emails: readonly string[]): Promise<{ id: string; email: string }[]> {
      const found: { id: string; email: string }[] = [];
      for (const batch of batches(emails)) {
        const result = await sql<{ id: string; email: string }>`
          select id, lower(email) as email from users
          where tenant_id = ${tenantId} and deleted_at is null
            and lower(email) in (select value from jsonb_array_elements_text(${rowsParameter(batch)}))`.execute(
          db,
        );
        found.push(...result.rows);
      }
      return found;
    },

    /** Inserts users with identity source LDAP, a verified email and no password. */
    async insertUsers(rows: readonly DirectoryUserInsert[]): Promise<void> {
      for (const batch of batches(rows)) {
        await sql`insert into users (tenant_id, id, email, first_name, last_name, display_name, status,
            status_reason, identity_source, email_verified, ou_id)
          select ${tenantId}, v.id, v.email, v.first_name, v.last_name, v.display_name, v.status,
            v.status_reason, 'LDAP', true, v.ou_id
          from jsonb_to_recordset(${rowsParameter(batch)}) as v(id text, email text, first_name text,
            last_name text, display_name text, status text, status_reason text, ou_id text)`.execute(db);
      }
    },

    /** Writes the directory's fields and status over existing users. */
    async updateUsers(rows: readonly DirectoryUserUpdate[]): Promise<void> {
      for (const batch of batches(rows)) {
        await sql`update users u set email = v.email, first_name = v.first_name, last_name = v.last_name,
            display_name = v.display_name, status = v.status, status_reason = v.status_reason,
            ou_id = v.ou_id, updated_at = now()
          from jsonb_to_recordset(${rowsParameter(batch)}) as v(id text, email text, first_name text,
            last_name text, display_name text, status text, status_reason text, ou_id text)
          where u.tenant_id = ${tenantId} and u.id = v.id`.execute(db);
      }
    },

    async insertLinks(providerId: string, rows: readonly DirectoryLinkInsert[]): Promise<void> {
      for (const batch of batches(rows)) {
        await sql`insert into federated_identities (tenant_id, id, user_id, identity_provider_id, subject,
            external_dn, upstream_groups, updated_at)
          select ${tenantId}, v.id, v.user_id, ${providerId}, v.subject, v.external_dn, v.upstream_groups, now()
          from jsonb_to_recordset(${rowsParameter(batch)}) as v(id text, user_id text, subject text,
            external_dn text, upstream_groups jsonb)`.execute(db);
      }
    },

    /**
     * Refreshes the planner's statistics of the tables a large sync filled (inside its transaction,
     * which ANALYZE counts as live rows): without it, the next queries plan for the old, small
     * tables (nested loops over 10,000 rows believed to be 20).
     */
    async analyze(): Promise<void> {
      await sql`analyze users, federated_identities`.execute(db);
    },

    /** Writes DN, groups and removal of links; `removed` sets removed_at (kept if already set) or clears it. */
    async updateLinks(rows: readonly DirectoryLinkUpdate[]): Promise<void> {
      for (const batch of batches(rows)) {
        await sql`update federated_identities f set external_dn = v.external_dn,
            upstream_groups = v.upstream_groups, updated_at = now(),
            removed_at = case when v.removed then coalesce(f.removed_at, now()) else null end
          from jsonb_to_recordset(${rowsParameter(batch)}) as v(id text, external_dn text,
            upstream_groups jsonb, removed boolean)
          where f.tenant_id = ${tenantId} and f.id = v.id`.execute(db);
      }
    },
  };
}

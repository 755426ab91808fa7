import { sql } from 'kysely';
import { boundTenantId, type TenantQueryable } from '../../../platform/db/tenant-scope.js';

/**
 * Rows of `ldap_sync_runs` (migration 0016): one per sync of a directory. At most one RUNNING row
 * per provider (partial unique index); a RUNNING row whose lease ran out belongs to an instance
 * that died and is closed as FAILED by the next claim.
 */

export interface LdapSyncRunRow {
  id: string;
  identity_provider_id: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  trigger: 'MANUAL' | 'SCHEDULED';
  requested_by: string | null;
  started_at: Date;
  finished_at: Date | null;
  lease_until: Date | null;
  counts: Record<string, number>;
  error: string | null;
}

const columns = sql`id, identity_provider_id, status, trigger, requested_by, started_at, finished_at,
  lease_until, counts, error`;

export function createSyncRunsRepository(db: TenantQueryable) {
  const tenantId = boundTenantId(db);
  return {
    /**
     * Closes the provider's run whose lease expired, then starts a RUNNING run; null when another
     * run of the provider holds its lease (the unique index decides between concurrent claims).
     */
    async claim(run: {
      id: string;
      providerId: string;
      trigger: 'MANUAL' | 'SCHEDULED';
      requestedBy: string | null;
      leaseMs: number;
    }): Promise<LdapSyncRunRow | null> {
      await sql`update ldap_sync_runs set status = 'FAILED', finished_at = now(), lease_until = null,
          error = 'The instance running this sync stopped (its lease expired); taken over by a new run'
        where tenant_id = ${tenantId} and identity_provider_id = ${run.providerId}
          and status = 'RUNNING' and lease_until < now()`.execute(db);
      // A plain read first: the insert alone would wait (on PostgreSQL) for a running apply
      // transaction that touched the other run's row, instead of refusing at once.
      const running = await sql<{ id: string }>`select id from ldap_sync_runs
        where tenant_id = ${tenantId} and identity_provider_id = ${run.providerId} and status = 'RUNNING'`.execute(
        db,
      );
      if (running.rows.length > 0) return null;
      const inserted = await sql<LdapSyncRunRow>`insert into ldap_sync_runs
          (tenant_id, id, identity_provider_id, status, trigger, requested_by, lease_until)
        values (${tenantId}, ${run.id}, ${run.providerId}, 'RUNNING', ${run.trigger}, ${run.requestedBy},
          now() + ${`${run.leaseMs} milliseconds`}::interval)
        on conflict do nothing
        returning ${columns}`.execute(db);
      return inserted.rows[0] ?? null;
    },

    /** Extends the lease of a run that is still RUNNING; false when it was taken over. */
    async renew(id: string, leaseMs: number): Promise<boolean> {
      const result = await sql<{ id: string }>`update ldap_sync_runs
        set lease_until = now() + ${`${leaseMs} milliseconds`}::interval
        where tenant_id = ${tenantId} and id = ${id} and status = 'RUNNING'
        returning id`.execute(db);
      return result.rows.length === 1;
    },

    async finish(
      id: string,
      status: 'SUCCEEDED' | 'FAILED',
      counts: Record<string, number>,
      error: string | null,
    ): Promise<LdapSyncRunRow | undefined> {
      const result = await sql<LdapSyncRunRow>`update ldap_sync_runs
        set status = ${status}, counts = ${JSON.stringify(counts)}::jsonb, error = ${error},
          finished_at = now(), lease_until = null
        where tenant_id = ${tenantId} and id = ${id} and status = 'RUNNING'
        returning ${columns}`.execute(db);
      return result.rows[0];
    },

    async find(id: string): Promise<LdapSyncRunRow | undefined> {
      const result = await sql<LdapSyncRunRow>`select ${columns} from ldap_sync_runs
        where tenant_id = ${tenantId} and id = ${id}`.execute(db);
      return result.rows[0];
    },

    /** The provider's runs, newest first. */
    async list(providerId: string, limit: number, offset: number): Promise<LdapSyncRunRow[]> {
      const result = await sql<LdapSyncRunRow>`select ${columns} from ldap_sync_runs
        where tenant_id = ${tenantId} and identity_provider_id = ${providerId}
        order by started_at desc, id desc limit ${limit} offset ${offset}`.execute(db);
      return result.rows;
    },

    async count(providerId: string): Promise<number> {
      const result = await sql<{ count: string | number }>`select count(*) as count from ldap_sync_runs
        where tenant_id = ${tenantId} and identity_provider_id = ${providerId}`.execute(db);
      return Number(result.rows[0]?.count ?? 0);
    },
  };
}

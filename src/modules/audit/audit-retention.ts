import type { Db } from '../../platform/db/database.js';
import type { HousekeepingTask } from '../../platform/housekeeping.js';
import { effectiveSettings, type TenantSettingsInput } from '../tenants/index.js';
import { deleteExpiredAuditEntries, tenantsWithSettings } from './audit.cross-tenant.js';

/** Entries deleted per statement. */
const PURGE_BATCH = 1000;

/**
 * The audit retention purge (a Housekeeping task, hourly on every instance): each tenant's
 * entries older than its `audit_retention_days` setting, and the entries without a tenant older
 * than `SCAIKEY_AUDIT_RETENTION_DAYS`, are deleted in batches of PURGE_BATCH (0 days: kept
 * forever). Two instances running it at once only share the deletes.
 */
export function auditRetentionTask(db: Db, options: { platformRetentionDays: number }): HousekeepingTask {
  async function purge(tenantId: string | null, days: number): Promise<number> {
    if (days <= 0) return 0;
    let removed = 0;
    for (;;) {
      const deleted = await deleteExpiredAuditEntries(db, tenantId, days, PURGE_BATCH);
      removed += deleted;
      if (deleted < PURGE_BATCH) return removed;
    }
  }
  return {
    name: 'audit-retention',
    everyMs: 3_600_000,
    async run() {
      let removed = await purge(null, options.platformRetentionDays);
      for (const tenant of await tenantsWithSettings(db)) {
        const settings = effectiveSettings((tenant.settings ?? {}) as TenantSettingsInput);
        removed += await purge(tenant.id, settings.audit_retention_days);
      }
      return removed;
    },
  };
}

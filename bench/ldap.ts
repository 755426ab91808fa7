import { newId } from '../src/lib/ids.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/platform/db/database.js';
import type { LdapProviderConfig } from '../src/protocols/federation/types.js';
import { directoryData } from '../tests/helpers/directory-data.js';
import {
  insertLdapProviderRow,
  openLdapConfig,
  type Slapd,
  slapdInstalled,
  startSlapd,
} from '../tests/helpers/slapd.js';
import type { Storage } from './references.js';
import type { DriveResult } from './scenario.js';

/**
 * What the LDAP scenarios (issue 15) share: a throwaway OpenLDAP slapd started in the load process
 * (tests/helpers/slapd.ts: LDAPS with a test CA, seeded offline with slapadd from the generated
 * directory of tests/helpers/directory-data.ts: people under three OUs, nested groups), and a
 * tenant with an LDAP identity provider row to sync into.
 */

export { slapdInstalled };

/** The result of a scenario that cannot run here: no operation, and the reason as a figure's name. */
export function skipped(reason: string): DriveResult {
  console.error(`skipped: ${reason}`);
  return {
    operations: 0,
    seconds: 0,
    rate: 0,
    p50: 0,
    p99: 0,
    max: 0,
    unexpected: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: {},
    figures: { [`skipped: ${reason}`]: 1 },
  };
}

export const SLAPD_MISSING = 'slapd is not installed (/usr/sbin/slapd; apt-get install slapd ldap-utils)';

export async function startDirectory(people: number): Promise<Slapd> {
  return startSlapd(directoryData({ people }));
}

export function providerConfig(
  slapd: Slapd,
  overrides: Partial<LdapProviderConfig> = {},
): LdapProviderConfig {
  return openLdapConfig(slapd, { page_size: 1000, timeout_ms: 30_000, ...overrides });
}

/**
 * A database to sync into and a fresh partner, tenant and LDAP provider in it: on PostgreSQL the
 * bench's own database (the server runs on it too); on PGlite, whose folder the server holds, a
 * migrated in-memory PGlite of the load process.
 */
export async function syncTarget(
  storage: Storage,
  config: LdapProviderConfig,
): Promise<{ handle: DatabaseHandle; tenantId: string; providerId: string }> {
  const handle =
    storage.kind === 'postgres'
      ? await openDatabase({ kind: 'postgres', url: storage.url }, { poolSize: 2 })
      : await openDatabase({ kind: 'pglite', dataDir: null });
  if (storage.kind === 'pglite') await migrateToLatest(handle.db);
  const partnerId = newId('partner');
  const tenantId = newId('tenant');
  const slug = tenantId.slice(4);
  await handle.db
    .insertInto('partners')
    .values({
      id: partnerId,
      name: `LDAP bench ${slug}`,
      slug: `ldap-${slug}`,
      status: 'ACTIVE',
      contact_email: null,
      max_tenants: null,
      max_users_per_tenant: null,
      max_applications_per_tenant: null,
    })
    .execute();
  await handle.db
    .insertInto('tenants')
    .values({
      id: tenantId,
      partner_id: partnerId,
      name: `LDAP bench ${slug}`,
      slug: `ldap-${slug}`,
      status: 'ACTIVE',
      contact_email: null,
      settings: '{}',
      branding: '{}',
    })
    .execute();
  const providerId = await insertLdapProviderRow(handle.db, tenantId, 'Bench LDAP', config);
  return { handle, tenantId, providerId };
}

import { syncLdapDirectory } from '../../src/protocols/federation/ldap/sync.js';
import {
  providerConfig,
  SLAPD_MISSING,
  skipped,
  slapdInstalled,
  startDirectory,
  syncTarget,
} from '../ldap.js';
import type { Storage } from '../references.js';
import type { Scenario } from '../scenario.js';
import { LatencyRecorder } from '../stats.js';

const PEOPLE = 10_000;
const origin = { actorType: 'system', actorId: null, ipAddress: null, requestId: null };

interface Custom {
  storage: Storage;
}

/**
 * Issue 15: an LDAP sync of 10,000 people (or --amount people) with nested groups (teams in
 * departments in all-staff, flat project groups, a cycle) from a slapd started in the load
 * process, into a fresh tenant: the first sync (everything created), then a second one over the
 * unchanged directory (everything compared, nothing written). The table's rate is people per
 * second of the first sync (p50 = its duration); the figures give both durations and the rows
 * written per second (users, federated identities, groups, memberships, nested edges). Runs
 * through the sync's own code on the bench's PostgreSQL database, or on an in-memory PGlite of
 * the load process (the server holds the bench's PGlite folder). Against the by-key SELECT, a
 * scale only.
 */
export const scenario: Scenario = {
  name: 'ldap.sync',
  description:
    'LDAP sync of 10,000 people with nested groups into a fresh tenant (first sync, then unchanged)',
  reference: () => ({ kind: 'machine', name: 'sql-select-by-pk' }),
  async prepare({ storage }) {
    const custom: Custom = { storage };
    return { method: 'POST', paths: ['/'], expectedStatus: 200, custom };
  },
  async drive({ plan, amount }) {
    if (!slapdInstalled) return skipped(SLAPD_MISSING);
    const { storage } = plan.custom as Custom;
    const people = amount ?? PEOPLE;
    const slapd = await startDirectory(people);
    try {
      const config = providerConfig(slapd);
      const { handle, tenantId, providerId } = await syncTarget(storage, config);
      try {
        const request = {
          tenantId,
          provider: { id: providerId, config, default_ou_id: null },
          bindPassword: slapd.data.servicePassword,
          trigger: 'MANUAL' as const,
          origin,
        };
        const recorder = new LatencyRecorder();
        let started = performance.now();
        const first = await syncLdapDirectory(handle.db, request);
        const firstMs = performance.now() - started;
        if (first.status !== 'SUCCEEDED') throw new Error(`the first sync failed: ${first.error}`);
        recorder.add(firstMs);
        started = performance.now();
        const second = await syncLdapDirectory(handle.db, request);
        const secondMs = performance.now() - started;
        if (second.status !== 'SUCCEEDED') throw new Error(`the second sync failed: ${second.error}`);
        const counts = first.counts;
        const rows =
          2 * (counts.users_created ?? 0) +
          (counts.groups_created ?? 0) +
          (counts.memberships_added ?? 0) +
          (counts.nested_groups_added ?? 0);
        const expected = slapd.data.expected;
        const exact =
          counts.users_created === expected.people &&
          counts.memberships_added === expected.directMemberships &&
          second.counts.users_unchanged === expected.people;
        return {
          ...recorder.summarize(people, firstMs / 1000),
          unexpected: exact ? 0 : 1,
          errors: 0,
          timeouts: 0,
          statusCodes: { synced: people },
          figures: {
            'first sync seconds': firstMs / 1000,
            'rows written': rows,
            'rows written/s': rows / (firstMs / 1000),
            'unchanged re-sync seconds': secondMs / 1000,
            'people compared/s (re-sync)': people / (secondMs / 1000),
            'effective memberships': expected.effectiveMemberships,
          },
        };
      } finally {
        await handle.close();
      }
    } finally {
      await slapd.stop();
    }
  },
};

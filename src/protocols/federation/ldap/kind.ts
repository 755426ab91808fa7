import { lazyImport } from '../../../lib/lazy-import.js';
import type { ProviderRecord } from '../../../modules/identity-providers/index.js';
import type { ProviderKind } from '../federation.js';
import type { ProviderKindsOptions } from '../kinds.js';
import type { LdapProviderConfig } from '../types.js';
import { syncLdapDirectory } from './sync.js';

/** The LDAP adapter (and ldapts), loaded at the first directory use (docs/performance.md, "Idle memory"). */
const directory = lazyImport(() => import('./directory.js'));

/** The stored config of an LDAP provider (the admin API validated it and filled the defaults). */
function ldapConfig(provider: ProviderRecord): LdapProviderConfig {
  return provider.config as unknown as LdapProviderConfig;
}

const bindPassword = (provider: ProviderRecord) => provider.secrets.bind_password ?? '';

/** Who asked for a sync, as the audit log names actors (an admin user, an API client, or the scheduler). */
function syncOrigin(requestedBy: string | null) {
  const actorType = requestedBy === null ? 'system' : requestedBy.startsWith('usr_') ? 'admin' : 'api';
  return { actorType, actorId: requestedBy, ipAddress: null, requestId: null };
}

/**
 * Runs one sync of an LDAP provider (MANUAL from the admin API, SCHEDULED from a timer that finds
 * providers whose `sync_interval_minutes` have passed) and returns its run.
 * @throws SyncAlreadyRunning when a run of the provider holds its lease.
 */
export function syncProvider(
  db: ProviderKindsOptions['db'],
  provider: ProviderRecord,
  trigger: 'MANUAL' | 'SCHEDULED',
  requestedBy: string | null,
) {
  return syncLdapDirectory(db, {
    tenantId: provider.tenantId,
    provider: { id: provider.id, config: ldapConfig(provider), default_ou_id: provider.defaultOuId },
    bindPassword: bindPassword(provider),
    trigger,
    requestedBy,
    origin: syncOrigin(requestedBy),
  });
}

/**
 * LDAP / Active Directory as a kind of identity provider (issue 15): connection checks, bind-through
 * sign-in (throws DirectoryUnavailable, code DIRECTORY_UNAVAILABLE, when the directory cannot be
 * used) and the sync (throws SyncAlreadyRunning, code SYNC_RUNNING, when a run holds its lease).
 */
export function ldapKind(options: ProviderKindsOptions): ProviderKind {
  return {
    test: async (provider) =>
      (await directory()).testConnection(ldapConfig(provider), bindPassword(provider)),
    authenticate: async (provider, login, password) =>
      (await directory()).authenticate(ldapConfig(provider), bindPassword(provider), login, password),
    async sync(provider, requestedBy, trigger = 'MANUAL') {
      return (await syncProvider(options.db, provider, trigger, requestedBy)).id;
    },
  };
}

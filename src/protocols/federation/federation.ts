import { randomBytes } from 'node:crypto';
import {
  type ConnectionCheckResult,
  federationUrls,
  type IdentityProvidersService,
  type ProviderDrivers,
  type ProviderRecord,
  type ProviderType,
} from '../../modules/identity-providers/index.js';
import type { Db } from '../../platform/db/database.js';
import type { TenantRow } from '../../platform/db/schema.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import { AppError } from '../../platform/errors.js';
import { answerLogin, insertLogin, pendingLogin, setRequestId } from './federation-logins.repository.js';
import type { UpstreamIdentity } from './types.js';

/** A login being started: the values the upstream request binds (state, nonce, PKCE verifier). */
export interface LoginStart {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * What one kind of provider (OIDC, SAML, LDAP) does; the adapters under oidc/, saml/ and ldap/
 * each give one. Redirect kinds start a login; the directory kind checks a password.
 */
export interface ProviderKind {
  /** Completes a config before it is saved (reads metadata, fills endpoints); throws what is wrong. */
  prepare?(
    config: Record<string, unknown>,
    secrets: Record<string, string>,
  ): Promise<Record<string, unknown>>;
  test(provider: ProviderRecord, urls: Record<string, string>): Promise<ConnectionCheckResult[]>;
  /** OIDC, SAML: where to send the browser (and the SAML request id to expect back). */
  start?(
    provider: ProviderRecord,
    login: LoginStart,
    urls: Record<string, string>,
  ): Promise<{ url: string; requestId?: string }>;
  /** LDAP: the directory checks the password; null when it is wrong or the user unknown. */
  authenticate?(provider: ProviderRecord, login: string, password: string): Promise<UpstreamIdentity | null>;
  /** LDAP: a sync now (MANUAL, or SCHEDULED by the interval); the run's id. */
  sync?(
    provider: ProviderRecord,
    requestedBy: string | null,
    trigger?: 'MANUAL' | 'SCHEDULED',
  ): Promise<string>;
  /** Drops what this instance caches of a provider. */
  forget?(providerId: string): void;
}

export interface FederationOptions {
  db: Db;
  publicUrl: string;
  identityProviders: () => IdentityProvidersService;
  kinds: Partial<Record<ProviderType, ProviderKind>>;
}

const token = (bytes: number) => randomBytes(bytes).toString('base64url');

/** The domain of an email address, lowercased; null when it has none. */
export const emailDomain = (email: string) => {
  const at = email.lastIndexOf('@');
  return at > 0
    ? email
        .slice(at + 1)
        .trim()
        .toLowerCase()
    : null;
};

/**
 * The federation core (docs/federation.md): the enabled providers of a tenant for its sign-in
 * page, home-realm discovery, the start of a redirect login, the record of the upstream's answer,
 * and the admin API's drivers (a port of the identity-providers module).
 */
export function createFederation(options: FederationOptions) {
  const { db, kinds } = options;
  const kindOf = (type: ProviderType): ProviderKind => {
    const kind = kinds[type];
    if (!kind)
      throw new AppError('BAD_REQUEST', `${type} identity providers are not available on this instance`);
    return kind;
  };

  const drivers: ProviderDrivers = {
    async prepare(type, config, secrets) {
      const kind = kindOf(type);
      return kind.prepare ? kind.prepare(config, secrets) : config;
    },
    test: (provider, urls) => kindOf(provider.type).test(provider, urls),
    async sync(provider, requestedBy) {
      const kind = kindOf(provider.type);
      if (!kind.sync) throw new AppError('NOT_A_DIRECTORY', 'Only LDAP identity providers sync');
      return kind.sync(provider, requestedBy);
    },
    forget(providerId) {
      for (const kind of Object.values(kinds)) kind?.forget?.(providerId);
    },
  };

  /** The enabled providers of a tenant whose kind this instance has. */
  async function enabledProviders(tenantId: string): Promise<ProviderRecord[]> {
    return (await options.identityProviders().providersOf(tenantId)).filter(
      (provider) => provider.enabled && kinds[provider.type] !== undefined,
    );
  }

  /**
   * Runs the scheduled syncs that are due (sync_interval_minutes), one after the other: a run
   * already going on elsewhere, or a directory that does not answer, is logged and skipped (the
   * run records the failure). Answers how many ran.
   */
  async function scheduledSyncs(log: { warn: (o: object, m: string) => void }): Promise<number> {
    const sync = kinds.LDAP?.sync;
    if (!sync) return 0;
    let ran = 0;
    for (const provider of await options.identityProviders().directoriesDueForSync()) {
      try {
        await sync(provider, null, 'SCHEDULED');
        ran++;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        log.warn(
          { identity_provider_id: provider.id, code: error.code },
          'scheduled directory sync did not run',
        );
      }
    }
    return ran;
  }

  return {
    drivers,
    kinds,
    enabledProviders,
    scheduledSyncs,

    /** The enabled provider of the tenant with this id, or undefined. */
    async enabledProvider(tenantId: string, id: string): Promise<ProviderRecord | undefined> {
      const provider = await options.identityProviders().provider(tenantId, id);
      return provider?.enabled && kinds[provider.type] ? provider : undefined;
    },

    /** Home-realm discovery: the enabled provider claiming the email's domain. */
    providerForEmail: (tenantId: string, email: string) =>
      providerForEmail(enabledProviders, tenantId, email),

    /** The URLs registered at the upstream for a provider of `tenant`. */
    urls: (tenant: TenantRow, provider: ProviderRecord) =>
      federationUrls(options.publicUrl, tenant.slug, provider.type, provider.id),

    /** Starts a redirect login of the interaction `uid`: the URL to send the browser to. */
    async start(tenant: TenantRow, provider: ProviderRecord, uid: string): Promise<string> {
      const kind = kindOf(provider.type);
      if (!kind.start) throw new AppError('BAD_REQUEST', 'This identity provider signs in with a password');
      const login = { state: token(32), nonce: token(24), codeVerifier: token(48) };
      const scoped = bindTenant(db, tenant.id);
      await insertLogin(scoped, {
        tenant_id: tenant.id,
        id: login.state,
        identity_provider_id: provider.id,
        interaction_uid: uid,
        nonce: login.nonce,
        code_verifier: login.codeVerifier,
      });
      const { url, requestId } = await kind.start(provider, login, this.urls(tenant, provider));
      if (requestId) await setRequestId(scoped, login.state, requestId);
      return url;
    },

    /** The login of `state`, waiting for the upstream's answer (callback, ACS); undefined otherwise. */
    pending: (tenantId: string, state: string) => pendingLogin(bindTenant(db, tenantId), state),

    /**
     * Records the upstream's verified identity (or why the answer was refused) and gives the path
     * the browser continues at: the interaction's own, where its cookie is.
     */
    async answered(
      tenant: TenantRow,
      login: { id: string; interaction_uid: string },
      answer: { identity: UpstreamIdentity } | { error: string },
    ): Promise<string> {
      const recorded = await answerLogin(
        bindTenant(db, tenant.id),
        login.id,
        answer as unknown as Record<string, unknown>,
      );
      if (!recorded) {
        throw new AppError(
          'FEDERATION_FAILED',
          'This sign-in was already answered or has expired. Start again from the application.',
        );
      }
      return `${options.publicUrl}/api/v1/auth/tenants/${encodeURIComponent(tenant.slug)}/interaction/${encodeURIComponent(login.interaction_uid)}/federated?login=${encodeURIComponent(login.id)}`;
    },
  };
}

/** Home-realm discovery among `enabled`: the provider claiming the email's domain. */
async function providerForEmail(
  enabled: (tenantId: string) => Promise<ProviderRecord[]>,
  tenantId: string,
  email: string,
): Promise<ProviderRecord | undefined> {
  const domain = emailDomain(email);
  if (!domain) return undefined;
  return (await enabled(tenantId)).find((provider) => provider.emailDomains.includes(domain));
}

export type Federation = ReturnType<typeof createFederation>;

/**
 * `federation` with each tenant's enabled providers read at most once: for one request (a
 * sign-in's steps ask several times); a later request reads them again.
 */
export function readProvidersOnce(federation: Federation): Federation {
  const read = new Map<string, Promise<ProviderRecord[]>>();
  const once = (tenantId: string) => {
    let providers = read.get(tenantId);
    if (!providers) {
      providers = federation.enabledProviders(tenantId);
      read.set(tenantId, providers);
    }
    return providers;
  };
  return {
    ...federation,
    enabledProviders: once,
    providerForEmail: (tenantId, email) => providerForEmail(once, tenantId, email),
  };
}

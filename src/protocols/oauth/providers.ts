import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type Provider from 'oidc-provider';
import type { UsableClientCache } from '../../modules/applications/index.js';
import { findLiveTenantBySlug } from '../../modules/tenants/index.js';
import type { TokenVerifier } from '../../platform/auth/authenticate.js';
import type { Db } from '../../platform/db/database.js';
import type { ApplicationRow, TenantRow } from '../../platform/db/schema.js';
import type { AuditBuffer } from '../../platform/events/audit-buffer.js';
import type { Invalidation } from '../../platform/invalidation.js';
import { platformIssuer, tenantIssuer } from '../../platform/issuers.js';
import type { KeyStore } from '../../platform/keys.js';

export interface MountedProvider {
  provider: Provider;
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  issuer: string;
  /** URL path the provider is mounted at (the issuer's path). */
  mountPath: string;
  /** A usable application by client id, as the provider reads its clients (the client cache). */
  findClient: (clientId: string) => Promise<ApplicationRow | undefined>;
  /**
   * The tenant's row as last read (null for the platform). Replaced in place when the tenant
   * changes: the provider and the sign-in pages read settings and branding from it per request.
   */
  tenant: TenantRow | null;
}

const MAX_TENANT_PROVIDERS = 500;

interface CachedProvider {
  mounted: MountedProvider;
  /** False once the tenant changed: the next request reads its row again before it is served. */
  fresh: boolean;
}

/** What a provider is built from (issuer, cookie path, clients it accepts): a change rebuilds it. */
const sameIdentity = (a: TenantRow, b: TenantRow) =>
  a.id === b.id && a.slug === b.slug && a.partner_id === b.partner_id;

/**
 * The platform provider and one provider per tenant, built lazily (~0.5 ms) and kept in a
 * bounded LRU (docs/adr/0002-native-client-credentials.md). Evicting is safe: all provider state is in
 * SQL. A provider is built from its tenant's identity (id, slug, partner) and the signing keys;
 * everything else of the tenant (settings, branding, name) is read per request from the cached
 * row, which any change of the tenant invalidates on every instance (`invalidate`, fed by
 * the `tenant:<id>` topic of platform/invalidation.ts): the next request reads the row again.
 * A suspended or deleted tenant has no provider.
 */
export class OidcProviders {
  readonly #tenants = new LRUCache<string, CachedProvider>({ max: MAX_TENANT_PROVIDERS });
  #platform: MountedProvider | null = null;
  readonly #basePath: string;
  /** Bumped by every invalidation: a row read across one is used once, not cached as fresh. */
  #generation = 0;

  constructor(
    private readonly options: {
      db: Db;
      keys: KeyStore;
      publicUrl: string;
      cookieKeys: string[];
      audit: AuditBuffer;
      verifier: TokenVerifier;
      /** The instance's usable-client cache (cleared on every invalidation). */
      clients: UsableClientCache;
      invalidation: Invalidation;
      log: Pick<FastifyBaseLogger, 'warn'>;
    },
  ) {
    this.#basePath = new URL(options.publicUrl).pathname.replace(/\/+$/, '');
  }

  clear(): void {
    this.#generation++;
    this.#tenants.clear();
    this.#platform = null;
  }

  /**
   * An invalidation topic: `keys` rebuilds every provider; `tenant:<id>` and `partner:<id>` make
   * the rows of that tenant (or of the partner's tenants) be read again at their next request.
   */
  invalidate(topic: string): void {
    if (topic === 'keys') {
      this.clear();
      return;
    }
    const [kind, id] = topic.split(':', 2);
    if (kind !== 'tenant' && kind !== 'partner') return;
    this.#generation++;
    for (const cached of this.#tenants.values()) {
      const tenant = cached.mounted.tenant;
      if (kind === 'tenant' ? tenant?.id === id : tenant?.partner_id === id) cached.fresh = false;
    }
  }

  async platform(): Promise<MountedProvider> {
    if (!this.#platform) {
      const issuer = platformIssuer(this.options.publicUrl);
      this.#platform = await this.#mount(issuer, `${this.#basePath}/api/v1/platform/oauth`, null);
    }
    return this.#platform;
  }

  /** The provider of a live, ACTIVE tenant by slug, or null; its `tenant` is the current row. */
  async forSlug(slug: string): Promise<MountedProvider | null> {
    const cached = this.#tenants.get(slug);
    if (cached?.fresh) return cached.mounted;
    const generation = this.#generation;
    const tenant = await findLiveTenantBySlug(this.options.db, slug);
    if (tenant?.status !== 'ACTIVE') {
      if (this.#tenants.peek(slug) === cached) this.#tenants.delete(slug);
      return null;
    }
    let mounted: MountedProvider;
    if (cached?.mounted.tenant && sameIdentity(cached.mounted.tenant, tenant)) {
      mounted = cached.mounted;
      mounted.tenant = tenant;
    } else {
      mounted = await this.#mount(
        tenantIssuer(this.options.publicUrl, slug),
        `${this.#basePath}/api/v1/auth/tenants/${slug}`,
        tenant,
      );
    }
    this.#tenants.set(slug, { mounted, fresh: generation === this.#generation });
    return mounted;
  }

  async #mount(issuer: string, mountPath: string, tenant: TenantRow | null): Promise<MountedProvider> {
    // Loaded on first use: a process that only answers client_credentials and the management API
    // never pays for oidc-provider's memory and start-up time.
    const { createOidcProvider } = await import('./oidc-provider.js');
    const findClient = (clientId: string) => this.options.clients.find(clientId);
    const mounted = { issuer, mountPath, tenant, findClient } as MountedProvider;
    const provider = createOidcProvider({
      findClient,
      issuer,
      db: this.options.db,
      keys: this.options.keys,
      tenant,
      currentTenant: () => mounted.tenant,
      mountPath,
      cookieKeys: this.options.cookieKeys,
      verifier: this.options.verifier,
    });
    this.#auditGrants(provider, tenant);
    mounted.provider = provider;
    mounted.callback = provider.callback();
    return mounted;
  }

  /** Token issue, refusal and revocation events of oidc-provider, into the audit log. */
  #auditGrants(provider: Provider, tenant: TenantRow | null): void {
    const origin = (ctx: { ip?: string; oidc?: { entities?: Record<string, unknown> } }) => {
      const account = ctx.oidc?.entities?.Account as { accountId?: string } | undefined;
      return {
        actorType: account?.accountId ? 'user' : 'api',
        actorId:
          account?.accountId ??
          (ctx.oidc?.entities?.Client as { clientId?: string } | undefined)?.clientId ??
          null,
        ipAddress: ctx.ip ?? null,
        requestId: null,
      };
    };
    const place = { tenantId: tenant?.id ?? null, partnerId: tenant?.partner_id ?? null };
    provider.on('grant.success', (ctx) => {
      const client = ctx.oidc.entities.Client as { clientId?: string } | undefined;
      this.options.audit.push(origin(ctx), {
        action: 'token.issued',
        resourceType: 'application',
        resourceId: client?.clientId ?? null,
        ...place,
        after: { grant_type: ctx.oidc.params?.grant_type ?? null },
      });
    });
    provider.on('grant.error', (ctx, error) => {
      const client = ctx.oidc?.entities?.Client as { clientId?: string } | undefined;
      this.options.audit.push(origin(ctx), {
        action: 'token.refused',
        resourceType: 'application',
        resourceId: client?.clientId ?? null,
        ...place,
        after: {
          grant_type: ctx.oidc?.params?.grant_type ?? null,
          error: (error as { error?: string }).error ?? error.message,
        },
        result: 'FAILURE',
      });
    });
    provider.on('grant.revoked', (ctx, grantId) => {
      // The grant's JWT access tokens end with it (TokenVerifier checks the grant): forget verified
      // tokens here before the response goes out, and on the other instances by NOTIFY.
      const topic = `grant:${grantId}`;
      this.options.invalidation.local(topic);
      this.options.invalidation.publish(this.options.db, topic).catch((error: unknown) => {
        // Other instances then keep such a token for at most the cache's 60 s (ADR 0003).
        this.options.log.warn({ err: error, grantId }, 'publishing a revoked grant failed');
      });
      this.options.audit.push(origin(ctx), {
        action: 'token.revoked',
        resourceType: 'grant',
        resourceId: grantId,
        ...place,
      });
    });
  }
}

import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { Db } from '../../platform/db/database.js';
import { bindTenant, type TenantQueryable } from '../../platform/db/tenant-scope.js';
import { AppError, notFound, RequestValidationError } from '../../platform/errors.js';
import type { SecretBox } from '../../platform/secret-box.js';
import type { TenantScope } from '../../platform/tenancy.js';
import { compileValidator, fastApiValidationDetail } from '../../platform/validation.js';
import { makeLocalUsers } from '../users/index.js';
import { unlinkProvider } from './federated-identities.repository.js';
import { directoriesDueForSync, listProvidersAcrossTenants } from './identity-providers.cross-tenant.js';
import {
  createProvidersRepository,
  type ProviderRow,
  type ProviderWithCount,
} from './identity-providers.repository.js';
import type {
  AttributeMapping,
  GroupMappingRule,
  IdentityProviderCreate,
  IdentityProviderResponse,
  IdentityProviderUpdate,
  SyncRunResponse,
} from './identity-providers.schemas.js';
import { CONFIG_INPUTS, type ProviderType, SECRET_FIELDS, withDefaults } from './provider-config.schemas.js';

/** A provider as the federation protocols use it: the row, its typed config and its secrets, opened. */
export interface ProviderRecord {
  id: string;
  tenantId: string;
  type: ProviderType;
  name: string;
  buttonLabel: string;
  enabled: boolean;
  emailDomains: string[];
  jitProvisioning: boolean;
  linkByEmail: boolean;
  trustUpstreamMfa: boolean;
  attributeMapping: AttributeMapping;
  groupMapping: GroupMappingRule[];
  defaultOuId: string | null;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

export interface ConnectionCheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** What the federation protocols do for the admin API (a port: modules never import protocols). */
export interface ProviderDrivers {
  /**
   * Completes a config before it is saved (e.g. reads SAML metadata, checks an issuer); throws an
   * AppError or RequestValidationError naming what is wrong.
   */
  prepare(
    type: ProviderType,
    config: Record<string, unknown>,
    secrets: Record<string, string>,
  ): Promise<Record<string, unknown>>;
  test(provider: ProviderRecord, urls: Record<string, string>): Promise<ConnectionCheckResult[]>;
  /** Runs a sync of an LDAP provider now (MANUAL); resolves with the finished run. */
  sync(provider: ProviderRecord, requestedBy: string | null): Promise<string>;
  /** Drops what is cached of a provider (discovery documents, metadata) on this instance. */
  forget(providerId: string): void;
}

export interface IdentityProvidersServiceOptions {
  db: Db;
  box: SecretBox;
  publicUrl: string;
  drivers: () => ProviderDrivers;
}

const providerNotFound = () => notFound('Identity provider');

/** The URLs to register at the upstream for a provider of a tenant (docs/federation.md). */
export function federationUrls(
  publicUrl: string,
  slug: string,
  type: ProviderType,
  id: string,
): Record<string, string> {
  const base = `${publicUrl}/api/v1/auth/tenants/${encodeURIComponent(slug)}/federation`;
  if (type === 'OIDC') return { redirect_uri: `${base}/oidc/callback` };
  if (type === 'SAML') {
    return {
      sp_metadata: `${base}/saml/${id}/metadata`,
      acs: `${base}/saml/${id}/acs`,
      sp_entity_id: `${base}/saml/${id}/metadata`,
    };
  }
  return {};
}

/** Checks a type's config against its schema: 422 with `loc` under body.config. */
function checkConfig(type: ProviderType, config: Record<string, unknown>): void {
  const validate = compileValidator(CONFIG_INPUTS[type], 'body');
  if (validate(config)) return;
  const issues = fastApiValidationDetail(validate.errors ?? [], 'body').map((issue) => ({
    ...issue,
    loc: ['body', 'config', ...issue.loc.slice(1)],
  }));
  throw new RequestValidationError(issues);
}

function splitSecrets(type: ProviderType, config: Record<string, unknown>) {
  const secrets: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (SECRET_FIELDS[type].includes(key)) {
      if (typeof value === 'string') secrets[key] = value;
    } else rest[key] = value;
  }
  return { secrets, rest };
}

function typeRules(
  type: ProviderType,
  config: Record<string, unknown>,
  secrets: Record<string, string>,
): void {
  const missing = (field: string, msg: string) =>
    new RequestValidationError([{ loc: ['body', 'config', field], msg, type: 'missing' }]);
  if (type === 'OIDC') {
    if (config.preset === 'entra' && !config.entra_tenant_id && !config.issuer) {
      throw missing('entra_tenant_id', 'Entra ID needs the directory (tenant) id');
    }
    if (typeof config.issuer !== 'string' || !config.issuer) throw missing('issuer', 'Field required');
    if (config.token_endpoint_auth_method !== 'none' && !secrets.client_secret) {
      throw missing('client_secret', 'Field required unless token_endpoint_auth_method is none');
    }
  }
  if (type === 'LDAP' && !secrets.bind_password) throw missing('bind_password', 'Field required');
  if (type === 'LDAP') {
    const url = String(config.url);
    if (url.startsWith('ldaps://') && config.start_tls) {
      throw new RequestValidationError([
        {
          loc: ['body', 'config', 'start_tls'],
          msg: 'start_tls is for ldap:// URLs only',
          type: 'value_error',
        },
      ]);
    }
  }
  if (type === 'SAML' && config.sign_requests && (!secrets.sp_private_key || !config.sp_certificate)) {
    throw missing(
      secrets.sp_private_key ? 'sp_certificate' : 'sp_private_key',
      'Signing requests needs the SP key and certificate',
    );
  }
}

const normalizeDomains = (domains: string[] | undefined) => [
  ...new Set((domains ?? []).map((d) => d.toLowerCase())),
];

export function createIdentityProvidersService({
  db,
  box,
  publicUrl,
  drivers,
}: IdentityProvidersServiceOptions) {
  const sealSecrets = (id: string, secrets: Record<string, string>) =>
    Object.keys(secrets).length > 0 ? box.seal(JSON.stringify(secrets), `idp:${id}`) : null;
  const openSecrets = (row: ProviderRow): Record<string, string> => {
    if (!row.secrets) return {};
    const opened = box.unseal(row.secrets, `idp:${row.id}`);
    return opened ? (JSON.parse(opened) as Record<string, string>) : {};
  };

  function toRecord(row: ProviderRow): ProviderRecord {
    return {
      id: row.id,
      tenantId: row.tenant_id,
      type: row.provider_type as ProviderType,
      name: row.name,
      buttonLabel: row.button_label ?? row.name,
      enabled: row.status === 'ACTIVE',
      emailDomains: row.email_domains,
      jitProvisioning: row.jit_provisioning,
      linkByEmail: row.link_by_email,
      trustUpstreamMfa: row.trust_upstream_mfa,
      attributeMapping: row.attribute_mapping as AttributeMapping,
      groupMapping: row.group_mapping as GroupMappingRule[],
      defaultOuId: row.default_ou_id,
      config: row.config,
      secrets: openSecrets(row),
    };
  }

  function toResponse(row: ProviderWithCount, slug: string): IdentityProviderResponse {
    const type = row.provider_type as ProviderType;
    const secrets = openSecrets(row);
    return {
      id: row.id,
      tenant_id: row.tenant_id,
      name: row.name,
      provider_type: type,
      description: row.description,
      button_label: row.button_label ?? row.name,
      email_domains: row.email_domains,
      jit_provisioning: row.jit_provisioning,
      link_by_email: row.link_by_email,
      trust_upstream_mfa: row.trust_upstream_mfa,
      attribute_mapping: row.attribute_mapping as AttributeMapping,
      group_mapping: row.group_mapping as GroupMappingRule[],
      default_ou_id: row.default_ou_id,
      enabled: row.status === 'ACTIVE',
      status: row.status,
      config: row.config,
      secrets_set: Object.keys(secrets).sort(),
      urls: federationUrls(publicUrl, slug, type, row.id),
      users_count: row.users_count,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at ? row.updated_at.toISOString() : null,
    };
  }

  /** A domain belongs to one enabled provider of a tenant. */
  async function checkDomains(
    repo: ReturnType<typeof createProvidersRepository>,
    id: string,
    domains: string[],
    enabled: boolean,
  ) {
    if (!enabled || domains.length === 0) return;
    for (const other of await repo.live()) {
      if (other.id === id || other.status !== 'ACTIVE') continue;
      const taken = other.email_domains.find((d) => domains.includes(d));
      if (taken) {
        throw new AppError(
          'DOMAIN_TAKEN',
          `The email domain ${taken} already belongs to the identity provider ${other.id}`,
        );
      }
    }
  }

  async function checkReferences(
    repo: ReturnType<typeof createProvidersRepository>,
    input: { default_ou_id?: string | null | undefined; group_mapping?: GroupMappingRule[] | undefined },
  ) {
    if (
      input.default_ou_id &&
      !(isId('ou', input.default_ou_id) && (await repo.ouExists(input.default_ou_id)))
    ) {
      throw notFound('Organizational unit');
    }
    for (const [index, rule] of (input.group_mapping ?? []).entries()) {
      const hasId = !!rule.group_id;
      const hasName = !!rule.group_name;
      if (hasId === hasName) {
        throw new RequestValidationError([
          {
            loc: ['body', 'group_mapping', index],
            msg: 'Give group_id or group_name (one of them)',
            type: 'value_error',
          },
        ]);
      }
      if (rule.group_id && !(isId('group', rule.group_id) && (await repo.groupExists(rule.group_id)))) {
        throw notFound('Group');
      }
    }
  }

  async function mustFind(scope: TenantScope, id: string): Promise<ProviderWithCount> {
    if (!isId('identityProvider', id)) throw providerNotFound();
    const row = await createProvidersRepository(scope.db).find(id);
    if (!row) throw providerNotFound();
    return row;
  }

  const audit = (scope: TenantScope, id: string) => ({
    resourceType: 'identity_provider',
    resourceId: id,
    tenantId: scope.tenant.id,
    partnerId: scope.tenant.partner_id,
  });
  /** What an audit entry shows of a provider: never a secret. */
  const auditable = (row: Partial<ProviderRow>) => {
    const { secrets: _secrets, ...rest } = row;
    return rest;
  };

  return {
    async list(
      rights: AdminRights,
      filter: {
        tenant_id?: string | undefined;
        provider_type?: string | undefined;
        search?: string | undefined;
      },
      page: PageRequest,
    ) {
      const reach =
        rights.level === 'partner_admin'
          ? { partnerId: rights.partnerId ?? '' }
          : rights.level === 'tenant_admin'
            ? { tenantId: rights.tenantId ?? '' }
            : {};
      const { rows, total } = await listProvidersAcrossTenants(
        db,
        reach,
        { tenantId: filter.tenant_id, providerType: filter.provider_type, search: filter.search },
        { limit: page.perPage, offset: pageOffset(page) },
      );
      const items = rows.map((row) => toResponse(row, row.tenant_slug));
      return { items, pagination: paginationMeta(page, total) };
    },

    async get(scope: TenantScope, id: string): Promise<IdentityProviderResponse> {
      return toResponse(await mustFind(scope, id), scope.tenant.slug);
    },

    async create(scope: TenantScope, input: IdentityProviderCreate): Promise<IdentityProviderResponse> {
      const type = input.provider_type;
      checkConfig(type, input.config);
      const { secrets, rest } = splitSecrets(type, input.config);
      let config = withDefaults(type, rest);
      typeRules(type, config, secrets);
      config = await drivers().prepare(type, config, secrets);
      const id = newId('identityProvider');
      const domains = normalizeDomains(input.email_domains);
      const enabled = input.enabled ?? true;
      await scope.work(async (w) => {
        const repo = createProvidersRepository(w.db);
        await checkReferences(repo, input);
        await checkDomains(repo, id, domains, enabled);
        const row = {
          id,
          name: input.name,
          provider_type: type,
          description: input.description ?? null,
          button_label: input.button_label ?? null,
          email_domains: domains,
          jit_provisioning: input.jit_provisioning ?? true,
          link_by_email: input.link_by_email ?? false,
          trust_upstream_mfa: input.trust_upstream_mfa ?? false,
          attribute_mapping: (input.attribute_mapping ?? {}) as Record<string, unknown>,
          group_mapping: (input.group_mapping ?? []) as Record<string, unknown>[],
          default_ou_id: input.default_ou_id ?? null,
          status: enabled ? ('ACTIVE' as const) : ('DISABLED' as const),
          config,
          secrets: sealSecrets(id, secrets),
          created_by: scope.call.origin.actorId ?? null,
        };
        await repo.insert(row);
        w.audit({ action: 'identity_provider.created', ...audit(scope, id), after: auditable(row) });
      });
      return toResponse(await mustFind(scope, id), scope.tenant.slug);
    },

    async update(
      scope: TenantScope,
      id: string,
      input: IdentityProviderUpdate,
    ): Promise<IdentityProviderResponse> {
      const current = await mustFind(scope, id);
      const type = current.provider_type as ProviderType;
      const changes: Partial<ProviderRow> = {};
      let secrets = openSecrets(current);
      if (input.config !== undefined) {
        const { secrets: given, rest } = splitSecrets(type, input.config);
        const merged: Record<string, unknown> = { ...current.config };
        for (const [key, value] of Object.entries(rest)) {
          if (value === null) delete merged[key];
          else merged[key] = value;
        }
        secrets = { ...secrets, ...given };
        // The stored config with defaults is valid; check what it becomes with the changes.
        const candidate = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null));
        checkConfig(type, { ...candidate, ...given });
        let config = withDefaults(type, merged);
        typeRules(type, config, secrets);
        config = await drivers().prepare(type, config, secrets);
        changes.config = config;
        changes.secrets = sealSecrets(id, secrets);
      }
      for (const key of [
        'name',
        'description',
        'button_label',
        'jit_provisioning',
        'link_by_email',
        'trust_upstream_mfa',
        'default_ou_id',
      ] as const) {
        if (input[key] !== undefined) (changes as Record<string, unknown>)[key] = input[key];
      }
      if (input.attribute_mapping !== undefined)
        changes.attribute_mapping = input.attribute_mapping as Record<string, unknown>;
      if (input.group_mapping !== undefined)
        changes.group_mapping = input.group_mapping as Record<string, unknown>[];
      if (input.email_domains !== undefined) changes.email_domains = normalizeDomains(input.email_domains);
      if (input.enabled !== undefined) changes.status = input.enabled ? 'ACTIVE' : 'DISABLED';
      await scope.work(async (w) => {
        const repo = createProvidersRepository(w.db);
        const before = await repo.lock(id);
        if (!before) throw providerNotFound();
        await checkReferences(repo, input);
        await checkDomains(
          repo,
          id,
          changes.email_domains ?? before.email_domains,
          (changes.status ?? before.status) === 'ACTIVE',
        );
        await repo.update(id, changes);
        w.audit({
          action: 'identity_provider.updated',
          ...audit(scope, id),
          before: auditable(before),
          after: auditable(changes),
        });
        w.afterCommit(() => drivers().forget(id));
      });
      return toResponse(await mustFind(scope, id), scope.tenant.slug);
    },

    async remove(scope: TenantScope, id: string): Promise<void> {
      if (!isId('identityProvider', id)) throw providerNotFound();
      await scope.work(async (w) => {
        const repo = createProvidersRepository(w.db);
        const before = await repo.lock(id);
        if (!before) throw providerNotFound();
        await repo.softDelete(id);
        // Its users keep their accounts; those left without a live provider become local users.
        const detached = await unlinkProvider(w.db, id);
        const madeLocal = await makeLocalUsers(
          w,
          scope.tenant,
          detached,
          before.provider_type as ProviderType,
        );
        w.audit({
          action: 'identity_provider.deleted',
          ...audit(scope, id),
          before: auditable(before),
          after: { users_unlinked: detached.length, users_made_local: madeLocal },
        });
        w.afterCommit(() => drivers().forget(id));
      });
    },

    async test(scope: TenantScope, id: string) {
      const row = await mustFind(scope, id);
      const checks = await drivers().test(
        toRecord(row),
        federationUrls(publicUrl, scope.tenant.slug, row.provider_type as ProviderType, id),
      );
      return { ok: checks.every((check) => check.ok), checks };
    },

    async sync(scope: TenantScope, id: string): Promise<SyncRunResponse> {
      const row = await mustFind(scope, id);
      if (row.provider_type !== 'LDAP')
        throw new AppError('NOT_A_DIRECTORY', 'Only LDAP identity providers sync');
      if (row.status !== 'ACTIVE') throw new AppError('BAD_REQUEST', 'The identity provider is disabled');
      const runId = await drivers().sync(toRecord(row), scope.call.origin.actorId ?? null);
      const runs = await createProvidersRepository(scope.db).syncRuns(id, { limit: 50, offset: 0 });
      const run = runs.rows.find((r) => r.id === runId);
      if (!run) throw new AppError('CONFLICT', 'The sync run disappeared');
      return toSyncRun(run);
    },

    async syncRuns(scope: TenantScope, id: string, page: PageRequest) {
      const row = await mustFind(scope, id);
      if (row.provider_type !== 'LDAP')
        throw new AppError('NOT_A_DIRECTORY', 'Only LDAP identity providers sync');
      const { rows, total } = await createProvidersRepository(scope.db).syncRuns(id, {
        limit: page.perPage,
        offset: pageOffset(page),
      });
      return { items: rows.map(toSyncRun), pagination: paginationMeta(page, total) };
    },

    /** The directories whose scheduled sync is due (sync_interval_minutes), across tenants. */
    async directoriesDueForSync(): Promise<ProviderRecord[]> {
      const due = await directoriesDueForSync(db);
      const records: ProviderRecord[] = [];
      for (const { tenant_id, id } of due) {
        const row = await createProvidersRepository(bindTenant(db, tenant_id)).find(id);
        if (row) records.push(toRecord(row));
      }
      return records;
    },

    /** The live providers of a tenant (enabled or not), for the sign-in protocols. */
    async providersOf(tenantId: string): Promise<ProviderRecord[]> {
      return (await createProvidersRepository(bindTenant(db, tenantId)).live()).map(toRecord);
    },

    /** One live provider of a tenant, or undefined (a wrong id shape included). */
    async provider(
      tenantId: string,
      id: string,
      queryable?: TenantQueryable,
    ): Promise<ProviderRecord | undefined> {
      if (!isId('identityProvider', id)) return undefined;
      const row = await createProvidersRepository(queryable ?? bindTenant(db, tenantId)).find(id);
      return row ? toRecord(row) : undefined;
    },
  };
}

function toSyncRun(row: {
  id: string;
  identity_provider_id: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  trigger: 'MANUAL' | 'SCHEDULED';
  started_at: Date;
  finished_at: Date | null;
  counts: Record<string, number>;
  error: string | null;
}): SyncRunResponse {
  return {
    id: row.id,
    identity_provider_id: row.identity_provider_id,
    status: row.status,
    trigger: row.trigger,
    started_at: row.started_at.toISOString(),
    finished_at: row.finished_at ? row.finished_at.toISOString() : null,
    counts: row.counts,
    error: row.error,
  };
}

export type IdentityProvidersService = ReturnType<typeof createIdentityProvidersService>;

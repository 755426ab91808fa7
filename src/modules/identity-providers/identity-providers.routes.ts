import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { noStore, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access, type TenantScope } from '../../platform/tenancy.js';
import {
  ConnectionTestResult,
  IdentityProviderCreate,
  IdentityProviderListQuery,
  IdentityProviderResponse,
  IdentityProviderUpdate,
  IdpParams,
  SyncRunListQuery,
  SyncRunResponse,
} from './identity-providers.schemas.js';
import type { IdentityProvidersService } from './identity-providers.service.js';
import { LdapConfigInput, OidcConfigInput, SamlConfigInput } from './provider-config.schemas.js';

const tags = ['Identity Providers'];
const base = '/api/v1/admin/identity-providers';
const ProviderEnvelope = Envelope(IdentityProviderResponse, 'ApiResponse_IdentityProviderResponse_');

export interface IdentityProvidersRoutesOptions {
  providers: IdentityProvidersService;
  /** The tenant of a live provider by its id alone. */
  tenantOfProvider(id: string): Promise<string | undefined>;
}

/**
 * `/api/v1/admin/identity-providers/`: the upstream OpenID providers, SAML identity providers and
 * LDAP directories of a tenant (docs/federation.md). Role reach as the rest of the admin API; a
 * provider of a tenant the caller may not see is 404.
 */
export const identityProvidersRoutes: FastifyPluginAsyncTypebox<IdentityProvidersRoutesOptions> = async (
  app,
  { providers, tenantOfProvider },
) => {
  // The type-specific configs are components of the document (the body's `config` names them).
  app.addSchema({ ...OidcConfigInput, $id: 'OidcProviderConfig' });
  app.addSchema({ ...SamlConfigInput, $id: 'SamlProviderConfig' });
  app.addSchema({ ...LdapConfigInput, $id: 'LdapProviderConfig' });

  const providerScope = async (
    request: FastifyRequest & { params: { idp_id: string } },
  ): Promise<TenantScope> =>
    request.scopeForTenant((await tenantOfProvider(request.params.idp_id)) ?? '', 'Identity provider');

  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Identity Providers',
        description: 'Identity providers of the tenants the caller may see, newest first.',
        querystring: IdentityProviderListQuery,
        response: { 200: PaginatedEnvelope(IdentityProviderResponse), ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20, ...filter } = request.query;
      const result = await providers.list(request.rights, filter, { page, perPage: per_page });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Create Identity Provider',
        description:
          'Configure an upstream provider for a tenant (`tenant_id`; a tenant admin’s own by default). Secrets ' +
          'in `config` are sealed at rest and never returned. SAML: the IdP metadata is read now (by URL or XML).',
        body: IdentityProviderCreate,
        response: { 201: ProviderEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      const tenantId =
        request.body.tenant_id ??
        (request.rights.level === 'tenant_admin' ? request.rights.tenantId : undefined);
      const scope = await request.scopeForTenant(tenantId ?? '', 'Tenant');
      return noStore(reply)
        .code(201)
        .send(ok(request, await providers.create(scope, request.body)));
    },
  );

  app.get(
    `${base}/:idp_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Identity Provider',
        params: IdpParams,
        response: { 200: ProviderEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await providers.get(await providerScope(request), request.params.idp_id)),
  );

  app.patch(
    `${base}/:idp_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Update Identity Provider',
        description:
          'Changes apply to the next sign-in on every instance. `config` is merged key by key; lists and mappings ' +
          'are replaced. `enabled: false` stops the provider’s sign-ins at once.',
        params: IdpParams,
        body: IdentityProviderUpdate,
        response: { 200: ProviderEnvelope, 400: ErrorSchema, 409: ErrorSchema, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await providers.update(await providerScope(request), request.params.idp_id, request.body)),
  );

  app.delete(
    `${base}/:idp_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Delete Identity Provider',
        description:
          'Soft delete: nobody signs in through it any more. Its users stay, with their identity_source, and sign ' +
          'in locally only once given a password (docs/federation.md, “Deleting a provider”).',
        params: IdpParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await providers.remove(await providerScope(request), request.params.idp_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:idp_id/test`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Test Identity Provider',
        description:
          'Checks the connection (LDAP: connect, TLS, service bind, searches), the discovery document (OIDC) or the ' +
          'metadata (SAML), and says what failed.',
        params: IdpParams,
        response: { 200: Envelope(ConnectionTestResult), ...managementErrors },
      },
    },
    async (request) => ok(request, await providers.test(await providerScope(request), request.params.idp_id)),
  );

  app.post(
    `${base}/:idp_id/sync`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Sync Directory',
        description:
          'LDAP: reads the directory’s users and groups and applies the differences in one transaction; answers ' +
          'the finished run with its counts (status FAILED with the error when the directory could not be read: ' +
          'nothing changed). 409 SYNC_RUNNING while another run of the provider is going on.',
        params: IdpParams,
        response: {
          200: Envelope(SyncRunResponse),
          400: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, await providers.sync(await providerScope(request), request.params.idp_id)),
  );

  app.get(
    `${base}/:idp_id/sync-runs`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Sync Runs',
        description: 'The directory syncs of an LDAP provider, newest first.',
        params: IdpParams,
        querystring: SyncRunListQuery,
        response: { 200: PaginatedEnvelope(SyncRunResponse), 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request) => {
      const { page = 1, per_page = 20 } = request.query;
      const result = await providers.syncRuns(await providerScope(request), request.params.idp_id, {
        page,
        perPage: per_page,
      });
      return paged(request, result.items, result.pagination);
    },
  );
};

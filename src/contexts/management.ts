import type { FastifyPluginAsync } from 'fastify';
import { adminRolesRoutes, createAdminRolesService } from '../modules/admin-roles/index.js';
import {
  applicationsRoutes,
  assignmentsRoutes,
  createApplicationsService,
  createAssignmentsService,
  findUsableClient,
  moveTenantApplications,
} from '../modules/applications/index.js';
import { auditRetentionTask, auditRoutes, createAuditService } from '../modules/audit/index.js';
import {
  createFeedService,
  feedRoutes,
  type WebhooksService,
  webhooksRoutes,
} from '../modules/events/index.js';
import { adminGroupsRoutes, createGroupsService, groupsRoutes } from '../modules/groups/index.js';
import {
  type IdentityProvidersService,
  identityProvidersRoutes,
  tenantOfProvider,
} from '../modules/identity-providers/index.js';
import { removeSecondFactors } from '../modules/mfa/index.js';
import { createOusService, ousRoutes } from '../modules/ous/index.js';
import { createPartnersService, partnersRoutes } from '../modules/partners/index.js';
import { createSessionsService, sessionsRoutes } from '../modules/sessions/index.js';
import { createTenantsService, tenantsRoutes, visibleTenant } from '../modules/tenants/index.js';
import { adminUsersRoutes, createUsersService, usersRoutes } from '../modules/users/index.js';
import { adminRights, requireSuperAdmin, tenantRouteRights } from '../platform/auth/access.js';
import type { TokenVerifier } from '../platform/auth/authenticate.js';
import type { Db } from '../platform/db/database.js';
import { bindTenant, type TenantDb } from '../platform/db/tenant-scope.js';
import type { EventSignal } from '../platform/events/event-signal.js';
import type { UnitOfWork } from '../platform/events/unit-of-work.js';
import type { Housekeeping } from '../platform/housekeeping.js';
import { callContext } from '../platform/http.js';
import type { RowCache } from '../platform/row-cache.js';
import type { Access, TenantScope } from '../platform/tenancy.js';
import { builtInClientName } from '../protocols/account/account-client.js';

export interface ManagementContextOptions {
  db: Db;
  verifier: TokenVerifier;
  work: UnitOfWork;
  publicUrl: string;
  /** Wakes the change feed's long-polls. */
  events: EventSignal;
  /** Periodic clean-ups: the audit retention purge registers here. */
  housekeeping: Housekeeping;
  /** Days entries without a tenant are kept (SCAIKEY_AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  /** The Webhooks API's service (built with the delivery it wakes, src/app.ts). */
  webhooks: WebhooksService;
  /** The Identity Providers API's service (built with the federation it drives, src/app.ts). */
  identityProviders: IdentityProvidersService;
  /** Hot directory rows kept in memory (tenants of tenant routes, users by id): ADR 0015. */
  rows: RowCache;
}

/**
 * The management context: the admin API and the tenant routes. Every route needs a bearer (or
 * DPoP) token of ours and declares the access it needs (`config.access`, platform/tenancy.ts); the
 * context checks the caller's rights for it once and resolves `:tenant_id` into
 * `request.tenantScope` before the handler runs. A route registered here without a declared access
 * fails the start (ADR 0010).
 */
export const managementContext: FastifyPluginAsync<ManagementContextOptions> = async (
  management,
  options,
) => {
  const { db, verifier, work } = options;
  const boundHandles = new Map<string, TenantDb>();
  // Bound handles are immutable: one per tenant seen, kept while the process lives (bounded by
  // the number of tenants, a few hundred bytes each).
  const handleOf = (tenantId: string): TenantDb => {
    let handle = boundHandles.get(tenantId);
    if (!handle) {
      handle = bindTenant(db, tenantId);
      boundHandles.set(tenantId, handle);
    }
    return handle;
  };

  management.decorateRequest('rights', null as never);
  management.decorateRequest('tenantScope', null as never);
  management.decorateRequest('scopeForTenant', async function (tenantId: string, missing?: string) {
    const tenant = await visibleTenant(db, this.rights, tenantId, missing, options.rows);
    const call = callContext(this);
    const scope: TenantScope = {
      tenant,
      rights: this.rights,
      call,
      db: handleOf(tenant.id),
      work: (body) => work.inTenant(tenant.id, call.origin, body),
    };
    return scope;
  });

  management.addHook('onRoute', (route) => {
    // A management route states what it needs; one that does not is a programming error.
    if (!route.config?.access) {
      throw new Error(`${route.method} ${route.url}: a management route must declare config.access`);
    }
    route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
  });
  management.addHook('onRequest', async (request) => {
    request.principal = await verifier.authenticate(request);
  });
  // After validation (a malformed request is a 422 before any 403/404), as the services did.
  management.addHook('preHandler', async (request) => {
    const declared = request.routeOptions.config.access as Access;
    const rights =
      declared.area === 'tenant'
        ? tenantRouteRights(request.principal, declared.write)
        : adminRights(request.principal, declared.write);
    if (declared.superAdmin) requireSuperAdmin(rights);
    request.rights = rights;
    const tenantId = (request.params as { tenant_id?: string }).tenant_id;
    if (declared.area === 'tenant' && tenantId !== undefined) {
      request.tenantScope = await request.scopeForTenant(tenantId);
    }
  });

  await management.register(partnersRoutes, { partners: createPartnersService(db, work) });
  const tenants = createTenantsService(db, work, { moved: moveTenantApplications });
  await management.register(tenantsRoutes, { tenants });
  await management.register(ousRoutes, { ous: createOusService() });
  const groups = createGroupsService(db, options.rows);
  await management.register(groupsRoutes, { groups });
  await management.register(adminGroupsRoutes, { groups });
  const users = createUsersService({
    db,
    work,
    publicUrl: options.publicUrl,
    removeSecondFactors,
    rows: options.rows,
  });
  await management.register(usersRoutes, { users });
  await management.register(adminUsersRoutes, { users });
  await management.register(applicationsRoutes, {
    applications: createApplicationsService(db, work),
  });
  await management.register(assignmentsRoutes, { assignments: createAssignmentsService() });
  await management.register(adminRolesRoutes, {
    adminRoles: createAdminRolesService(db, work),
  });
  await management.register(sessionsRoutes, {
    sessions: createSessionsService({
      db,
      applicationName: async (clientId) =>
        (await findUsableClient(db, clientId))?.name ?? builtInClientName(clientId),
    }),
    tenantOfUser: (userId) => users.tenantOfUser(userId),
  });
  await management.register(feedRoutes, { feed: createFeedService(db, options.events) });
  await management.register(auditRoutes, { audit: createAuditService(db) });
  options.housekeeping.register(
    auditRetentionTask(db, { platformRetentionDays: options.auditRetentionDays }),
  );
  await management.register(webhooksRoutes, { webhooks: options.webhooks });
  await management.register(identityProvidersRoutes, {
    providers: options.identityProviders,
    tenantOfProvider: (id) => tenantOfProvider(db, id),
  });
};

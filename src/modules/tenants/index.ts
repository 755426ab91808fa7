/** The tenants module's face: what other modules, protocols and the composition root may use. */
export { accessibleTenant, findLiveTenant, lockLiveTenant, visibleTenant } from './tenant-access.js';
export {
  findActiveTenantBySlug,
  findLiveTenantBySlug,
  tenantSlugsForEmailDomain,
} from './tenant-lookup.repository.js';
export {
  DEFAULT_TENANT_SETTINGS,
  effectiveSettings,
  pageBranding,
  type TenantBranding,
  type TenantSettings,
  TenantSettingsInput,
  tenantDisplayName,
} from './tenant-settings.js';
export { tenantsRoutes } from './tenants.routes.js';
export { createTenantsService, type TenantChangeHooks } from './tenants.service.js';
export { lockUserLimit } from './user-limit.repository.js';

/** The identity providers module's face: what other modules, protocols and the composition root may use. */

export {
  type FederatedLink,
  findFederatedLink,
  linkFederatedIdentity,
  touchFederatedLink,
} from './federated-identities.repository.js';
export { tenantOfProvider } from './identity-providers.cross-tenant.js';
export { identityProvidersRoutes } from './identity-providers.routes.js';
export type { AttributeMapping, GroupMappingRule } from './identity-providers.schemas.js';
export { FederationIdp } from './identity-providers.schemas.js';
export {
  type ConnectionCheckResult,
  createIdentityProvidersService,
  federationUrls,
  type IdentityProvidersService,
  type ProviderDrivers,
  type ProviderRecord,
} from './identity-providers.service.js';
export type {
  LdapConfigInput,
  OidcConfigInput,
  ProviderType,
  SamlConfigInput,
} from './provider-config.schemas.js';

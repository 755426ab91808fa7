/** The applications module's face: what other modules, protocols and the composition root may use. */
export { applicationsRoutes } from './applications.routes.js';
export { createApplicationsService } from './applications.service.js';
export { isUserAssigned, removeAssignmentsOf } from './assignments.repository.js';
export { assignmentsRoutes } from './assignments.routes.js';
export { createAssignmentsService } from './assignments.service.js';
export { UsableClientCache } from './client-cache.js';
export { findUsableClient, originRegistered } from './client-lookup.js';
export { redirectUriAllowed } from './client-metadata.js';
export { isKnownRedirectTarget } from './redirect-targets.repository.js';
export { moveTenantApplications } from './tenant-moves.js';

/** The admin-roles module's face: what other modules, protocols and the composition root may use. */

export {
  type GrantingAssignmentRow,
  highestGrantingAssignmentQuery,
} from './admin-roles.repository.js';
export { adminRolesRoutes } from './admin-roles.routes.js';
export { createAdminRolesService } from './admin-roles.service.js';
export { type EffectiveAdminRole, effectiveAdminRole, toEffectiveAdminRole } from './effective-role.js';

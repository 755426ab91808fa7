/** The organizational units module's face. */
export { ousRoutes } from './ous.routes.js';
export { OUTreeNodeSchema } from './ous.schemas.js';
export { createOusService } from './ous.service.js';

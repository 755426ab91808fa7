/** The organizational units module's face. */

export { ensureOuPaths } from './directory-ous.js';
export { ousRoutes } from './ous.routes.js';
export { OUTreeNodeSchema } from './ous.schemas.js';
export { createOusService } from './ous.service.js';

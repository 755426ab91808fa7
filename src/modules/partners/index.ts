/** The partners module's face. */
export { partnersRoutes } from './partners.routes.js';
export { createPartnersService } from './partners.service.js';

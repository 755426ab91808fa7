/** The partners module's face. */
export { findLivePartner, findPartnerRow, findPlatformPartner, lockLivePartner } from './partner-lookup.js';
export { partnersRoutes } from './partners.routes.js';
export { createPartnersService } from './partners.service.js';

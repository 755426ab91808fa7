/** The health module's face. */
export { healthRoutes } from './health.routes.js';
export { homeRoutes } from './home.routes.js';

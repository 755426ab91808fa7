/** The sessions module's face: a user's sign-in sessions and grants as oidc-provider stores them. */
export { mySessionsRoutes } from './my-sessions.routes.js';
export { noteSessionActivity } from './session-activity.js';
export { endedSessionsTask } from './sessions.cross-tenant.js';
export { grantIsLive, revokeUserSessions, revokeUserSessionsExcept } from './sessions.repository.js';
export { sessionsRoutes } from './sessions.routes.js';
export { createSessionsService, type TenantWorkRunner } from './sessions.service.js';

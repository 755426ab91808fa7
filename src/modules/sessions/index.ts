/** The sessions module's face: a user's sign-in sessions and grants as oidc-provider stores them. */
export { grantIsLive, revokeUserSessions, revokeUserSessionsExcept } from './sessions.repository.js';

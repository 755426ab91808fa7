/** The users module's face: what other modules, protocols and the composition root may use. */

export { expiredActionTokensTask } from './action-tokens.cross-tenant.js';
export { consumeActionToken, issueActionToken, peekActionToken } from './action-tokens.js';
export { adminUsersRoutes } from './admin-users.routes.js';
export {
  createDirectoryUsersRepository,
  type DirectoryLinkInsert,
  type DirectoryLinkRow,
  type DirectoryLinkUpdate,
  type DirectoryUserInsert,
  type DirectoryUserUpdate,
} from './directory-users.repository.js';
export {
  applyUpstreamProfile,
  createFederatedUser,
  liveAccount,
  liveAccountByEmail,
  makeLocalUsers,
  type UpstreamProfile,
} from './federated-accounts.js';
export { listUsersInOu, type OuIds } from './ou-members.js';
export { localPasswordAllowed, passwordChange } from './passwords.js';
export {
  confirmEmailVerification,
  createProfileService,
  type OwnAccount,
  ownProfile,
  type ProfileService,
  peekEmailVerification,
} from './profile.js';
export { selfServiceProfileRoutes } from './self-service.routes.js';
export { UpdateProfileRequest } from './self-service.schemas.js';
export {
  activeAccountQuery,
  findAccount,
  findAccountAndReserveAttempt,
  findAccountByEmail,
  findActiveAccount,
  lockAccountAfterFailures,
  organizationsOfEmail,
  reserveSignInAttempt,
  resetSignInAttempts,
  signedInStatement,
  updateAccount,
} from './sign-in-accounts.repository.js';
export { toUserListItem } from './user-list-item.js';
export { passwordLink, passwordResetMail } from './user-mail.js';
export { usersRoutes } from './users.routes.js';
export { UserListItem, UserResponse } from './users.schemas.js';
export { createUsersService } from './users.service.js';
